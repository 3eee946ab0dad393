"""The one markdown-table writer: cells kept as written, a clear error on a ragged row."""

import pytest

from conftest import unpad
from sahlab.mdtable import pipe_table


def test_pipe_table_keeps_cells_as_written():
    md = pipe_table(["model", "value [CI]"], [["m-base", "0.950 [0.90, 1.00]"], ["m-post", 1e-3]])
    lines = md.splitlines()
    assert md.endswith("\n") and len(lines) == 4
    assert set(lines[1]) <= {"|", "-"}  # the header rule
    assert unpad(md).splitlines()[2] == "| m-base | 0.950 [0.90, 1.00] |"  # "0.950" keeps its zero
    assert len({len(line) for line in lines}) == 1  # columns padded to one width
    assert unpad(pipe_table(["a"], [])) == "| a |\n|-----|\n"


def test_pipe_table_names_a_ragged_row():
    with pytest.raises(ValueError, match=r"row\(s\) \[1\]"):
        pipe_table(["a", "b"], [["1", "2"], ["3"]])
