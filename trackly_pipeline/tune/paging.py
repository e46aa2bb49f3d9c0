"""When a paged read ends, and the cap on its pages.

TUNE's `pageCount` alone is not to be trusted: a reply claiming 10^12 pages, every one of them
empty, kept a sweep asking for 5,000+ pages. A sweep also ends at an empty page, or (where
`count` counts the rows) once its pages hold every row counted and one page more, and it never
reads more than MAX_PAGES_PER_SWEEP pages.

The cap: the largest real sweep, the 45-day wide sweep of a big network, is a few million rows,
a few hundred pages at the default page size of 5,000 (the benchmark's 1,000,000 conversions are
200). 10,000 pages still allow a 1,000,000-row window at a page size of 100, and take at least
42 minutes at the default 40 calls per 10 s: a broken TUNE's endless paging stops inside the hour
after which run monitoring ends a run, with an error that says what to do.
"""

from __future__ import annotations

from .envelope import Page
from .errors import TuneTooManyPagesError

MAX_PAGES_PER_SWEEP = 10_000


def is_last_page(page: Page, number: int, served: int, *, paginated: bool, count_is_rows: bool) -> bool:
    """Whether no page follows page `number`: TUNE's pageCount says so, the page is empty (pages
    fill up in order, so every later one would be empty too), or, where `count` counts the rows
    returned, one page more than they fill has been read (a row arriving mid-sweep can push another
    onto the page after those counted). `served` is the most rows a page has held so far, not the
    `limit` asked: a network that caps its pages below it, and says so in pageCount, is read whole."""
    if not paginated or number >= page.page_count or page.row_count == 0:
        return True
    return count_is_rows and number > pages_holding(page.total_count, served)


def pages_holding(rows: int, size: int) -> int:
    """Pages of `size` rows needed for `rows` rows: ceil(rows / size)."""
    return -(-max(rows, 0) // size)


def too_many_pages(where: str, cap: int, size: int, page: Page, noun: str) -> TuneTooManyPagesError:
    return TuneTooManyPagesError(
        f"{where}: stopped after {cap:,} pages of {size:,} {noun}, the cap for one read, with TUNE "
        f"still saying more follow (pageCount {page.page_count:,}, count {page.total_count:,}); "
        "read a shorter window (backfill in smaller ranges) or raise page_size"
    )
