import numpy as np
import pytest
import torch

from monge.data import load, read_labelled
from monge.errors import InputError


def _table(n=40, d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = np.arange(n) % 2
    return x, y


def test_csv_with_header_npy_and_npz_give_the_same_data(tmp_path):
    x, y = _table()
    csv = tmp_path / "data.csv"
    csv.write_text("a,b,c,label\n" + "\n".join(",".join(repr(float(v)) for v in row) + f",{label}"
                                            for row, label in zip(x, y)) + "\n")
    np.save(tmp_path / "data.npy", np.column_stack([x, y]))
    np.savez(tmp_path / "data.npz", x=x, y=y)
    for name in ("data.csv", "data.npy", "data.npz"):
        features, labels = read_labelled(tmp_path / name)
        np.testing.assert_array_equal(features, x)
        np.testing.assert_array_equal(labels, y)
        assert labels.dtype == np.int64
    data = load(tmp_path / "data.csv", seed=2)
    assert (data.n_train, data.n_test, data.shape, data.n_classes, data.name) == (30, 10, (3,), 2, "data.csv")
    assert torch.equal(torch.bincount(data.y_test), torch.tensor([5, 5]))


def test_npz_images_get_a_channel(tmp_path):
    np.savez(tmp_path / "img.npz", x=np.random.default_rng(0).random((12, 6, 6)), y=np.arange(12) % 3)
    data = load(tmp_path / "img.npz")
    assert data.shape == (1, 6, 6) and data.n_classes == 3 and data.mean.shape == (1, 1, 1)


def _csv(tmp_path, text):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path




@pytest.mark.parametrize("text, message", [
    ("1,2,0\n3,4\n5,6,1\n7,8,0\n", "line 2 of .* has 2 values but line 1 has 3"),
    ("1,2,0\n3,x,1\n5,6,1\n7,8,0\n", r"line 2, column 2 \(feature 2\) of .* is 'x'; expected a number"),
    ("1,2,0\n3,4,cat\n5,6,1\n7,8,0\n", r"column 3 \(the label\)"),
    ("1,nan,0\n3,4,1\n5,6,1\n7,8,0\n", r"1 NaN or infinite feature value\(s\) \(the first at row 1, column 2\)"),
    ("1,2,0\n3,4,0\n5,6,0\n7,8,0\n", "a single class"),
    ("1,2,0\n3,4,1.5\n5,6,1\n7,8,0\n", r"not integers \(the first, 1.5, at row 2\)"),
    ("1,2,0\n3,4,-1\n5,6,1\n7,8,0\n", r"out of range \(the first, -1, at row 2\)"),
    ("1,2,0\n3,4,2\n5,6,2\n7,8,0\n", r"no sample of class\(es\) \[1\]"),
    ("a,b,label\n", "no rows of numbers"),
    ("1,2,0\n3,4,1\n", "expected at least 4"),
    ("3\n4\n5\n6\n", r"shape \(4, 1\); expected \(n, d \+ 1\)"),
])
def test_bad_csv(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        read_labelled(_csv(tmp_path, text))


def test_bad_files(tmp_path):
    with pytest.raises(InputError, match=r"suffix '.txt'; expected one of .csv, .npy, .npz"):
        read_labelled(tmp_path / "x.txt")
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_labelled(tmp_path / "x.npy")
    (tmp_path / "fake.npy").write_bytes(b"hello")
    with pytest.raises(InputError, match="not a .npy file"):
        read_labelled(tmp_path / "fake.npy")
    np.savez(tmp_path / "short.npz", x=np.zeros((5, 2)), y=np.arange(4) % 2)
    with pytest.raises(InputError, match="x has 5 rows but y has 4"):
        read_labelled(tmp_path / "short.npz")
    np.savez(tmp_path / "names.npz", features=np.zeros((5, 2)), y=np.arange(5) % 2)
    with pytest.raises(InputError, match=r"holds arrays \['features', 'y'\]; expected two arrays named 'x'"):
        read_labelled(tmp_path / "names.npz")
    np.save(tmp_path / "text.npy", np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(InputError, match="dtype <U1; expected numbers"):
        read_labelled(tmp_path / "text.npy")
    np.save(tmp_path / "inf.npy", np.array([[np.inf, 0], [1, 1], [2, 0], [3, 1]]))
    with pytest.raises(InputError, match="NaN or infinite"):
        read_labelled(tmp_path / "inf.npy")
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(InputError, match="is a folder"):
        read_labelled(tmp_path / "folder.csv")


def test_damaged_archives_and_odd_csv_are_refused_naming_the_file(tmp_path):
    np.save(tmp_path / "one.npy", np.zeros((6, 3)))
    (tmp_path / "one.npz").write_bytes((tmp_path / "one.npy").read_bytes())  # a .npy array named .npz
    with pytest.raises(InputError, match=r"^data: .*one.npz holds one .npy array of shape \(6, 3\); expected a .npz"):
        read_labelled(tmp_path / "one.npz")
    np.savez(tmp_path / "cut.npz", x=np.zeros((100, 3)), y=np.arange(100) % 2)
    (tmp_path / "cut.npz").write_bytes((tmp_path / "cut.npz").read_bytes()[:300])  # a half-written archive
    with pytest.raises(InputError, match=r"^data: cannot read .*cut.npz as a .npz archive"):
        read_labelled(tmp_path / "cut.npz")
    np.savez_compressed(tmp_path / "crc.npz", x=np.random.default_rng(0).random((1000, 3)), y=np.arange(1000) % 2)
    damaged = bytearray((tmp_path / "crc.npz").read_bytes())
    damaged[400:420] = bytes(20)
    (tmp_path / "crc.npz").write_bytes(bytes(damaged))
    with pytest.raises(InputError, match=r"^data: cannot read .*crc.npz as a .npz archive"):
        read_labelled(tmp_path / "crc.npz")
    from monge.data.files import load_points

    (tmp_path / "long.csv").write_text("1,2\n" + "9" * 200_000 + "\n")  # beyond the csv module's field limit
    with pytest.raises(InputError, match=r"^--points: line 2 of .*long.csv cannot be read as comma-separated"):
        load_points(tmp_path / "long.csv", "--points")


def test_a_class_too_small_to_split(tmp_path):
    rows = "".join(f"{k},{0 if k else 1}\n" for k in range(10))
    with pytest.raises(InputError, match=r"too few samples to split .* \(class 1 has 1\)"):
        load(_csv(tmp_path, rows))


def test_one_csv_reader_for_points_and_labelled_data(tmp_path):
    """Points, weights and labelled data are read by one parser (the csv module's): quoted cells,
    a header, blank lines; its errors name the argument the file was given as."""
    from monge.data.files import load_points, load_weights

    path = tmp_path / "points.csv"
    path.write_text('x,y\n"1.5",2\n\n3,"-4e-1"\n')
    np.testing.assert_array_equal(load_points(path, "A"), [[1.5, 2.0], [3.0, -0.4]])
    (tmp_path / "w.csv").write_text("0.25\n0.75\n")
    np.testing.assert_array_equal(load_weights(tmp_path / "w.csv", "--weights-a", 2, str(path)), [0.25, 0.75])
    path.write_text("1,2\n3,x\n")
    with pytest.raises(InputError, match=r"^B: line 2, column 2 of .* is 'x'; expected a number"):
        load_points(path, "B")
    labelled = tmp_path / "data.csv"
    labelled.write_text('f1,f2,label\n1,2,0\n3,4,1\n"5",6,1\n7,8,0\n')
    x, y = read_labelled(labelled)
    assert x.shape == (4, 2) and y.tolist() == [0, 1, 1, 0]
