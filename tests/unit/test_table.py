"""kubectl table layout (cli-runtime tabwriter: minwidth 6, padding 3, RememberWidths)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from podctl.printers.table import column_widths, format_columns, render_table

POD_HEADERS = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]


def test_render_table_matches_kubectl_get_pods() -> None:
    rows = [["kubia-manual", "1/1", "Running", "0", "32s"]]
    assert render_table(POD_HEADERS, rows) == (
        "NAME           READY   STATUS    RESTARTS   AGE\n"
        "kubia-manual   1/1     Running   0          32s\n"
    )


def test_render_table_pads_to_widest_cell_plus_three() -> None:
    rows = [["a", "x"], ["much-longer-name", "y"]]
    assert render_table(["NAME", "V"], rows) == (
        "NAME               V\na                  x\nmuch-longer-name   y\n"
    )


def test_render_table_enforces_minimum_column_width_of_six() -> None:
    assert render_table(["A", "B"], [["1", "2"]]) == "A     B\n1     2\n"


def test_render_table_leaves_last_column_unpadded() -> None:
    output = render_table(["NAME", "AGE"], [["x", "1s"], ["y", "10m"]])
    assert all(not line.endswith(" ") for line in output.splitlines())


def test_render_table_pads_an_empty_last_cell_like_kubectl() -> None:
    # kubectl config get-contexts prints exactly this trailing padding.
    rows = [["", "b", "ns"], ["*", "ctx", ""]]
    assert render_table(["CURRENT", "NAME", "NAMESPACE"], rows) == (
        "CURRENT   NAME   NAMESPACE\n          b      ns\n*         ctx    \n"
    )


def test_render_table_without_header_prints_only_rows() -> None:
    assert render_table(POD_HEADERS, [["a", "1/1", "Running", "0", "1s"]], header=False) == (
        "a     1/1   Running   0     1s\n"
    )


def test_render_table_with_no_rows_and_no_header_is_empty() -> None:
    assert render_table(POD_HEADERS, [], header=False) == ""


def test_render_table_counts_characters_not_bytes() -> None:
    assert render_table(["NAME", "X"], [["héllo", "1"]]) == "NAME    X\nhéllo   1\n"


def test_render_table_keeps_remembered_widths_from_earlier_output() -> None:
    first_rows = [["kubia-manual", "1/1", "Running", "0", "32s"]]
    widths = column_widths(POD_HEADERS, first_rows)
    later = render_table(
        POD_HEADERS, [["k", "0/1", "Pending", "0", "0s"]], header=False, remembered=widths
    )
    assert later == "k              0/1     Pending   0          0s\n"


def test_remembered_widths_still_grow_for_wider_cells() -> None:
    widths = column_widths(["A", "B"], [["1", "2"]])
    later = render_table(["A", "B"], [["much-wider", "2"]], header=False, remembered=widths)
    assert later == "much-wider   2\n"


def test_column_widths_include_padding_for_all_but_last_column() -> None:
    assert column_widths(POD_HEADERS, [["kubia-manual", "1/1", "Running", "0", "32s"]]) == [
        15,
        8,
        10,
        11,
    ]


def test_format_columns_aligns_only_contiguous_column_blocks() -> None:
    # Go's tabwriter example: b and c are separate columns because a line without
    # a second cell interrupts the block.
    text = "aaaa\tbbb\td\naa\tb\tdd\na\t\naa\tcccc\teee\n"
    output, _ = format_columns(text)
    assert output == "aaaa   bbb   d\naa     b     dd\na      \naa     cccc   eee\n"


def test_format_columns_restarts_columns_after_formfeed() -> None:
    output, _ = format_columns("a\tb\fccccccc\td\n")
    assert output == "a     b\nccccccc   d\n"


def test_format_columns_keeps_unterminated_trailing_text() -> None:
    output, _ = format_columns("a\tb\nc\td")
    assert output == "a     b\nc     d"


_CELLS = st.text(alphabet=st.characters(blacklist_characters="\t\n\v\f\r"), max_size=12)


@given(
    st.integers(min_value=1, max_value=5).flatmap(
        lambda n: st.tuples(
            st.lists(_CELLS, min_size=n, max_size=n),
            st.lists(st.lists(_CELLS, min_size=n, max_size=n), max_size=6),
        )
    )
)
def test_render_table_starts_every_column_at_the_same_offset(
    table: tuple[list[str], list[list[str]]],
) -> None:
    headers, rows = table
    lines = render_table(headers, rows).split("\n")
    assert lines[-1] == ""
    widths = column_widths(headers, rows)
    for line, cells in zip(lines, [headers, *rows], strict=False):
        offset = 0
        for width, cell in zip(widths, cells, strict=False):
            assert line[offset : offset + len(cell)] == cell
            offset += width
        assert line[offset:] == cells[-1]
