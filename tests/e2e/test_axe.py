"""The accessibility check itself: axe-core finds a violation when there is one (so a clean page means
something)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_the_check_finds_what_is_wrong(browser: Any, check_a11y: Any, axe_source: str | None) -> None:
    if axe_source is None:
        pytest.skip("axe-core is not installed: run `npm ci --prefix tests/e2e`")
    page = browser.new_page()
    try:
        page.set_content(
            '<html lang="zh-Hans"><head><title>x</title></head><body><main><h1>表单</h1>'
            '<input id="q"><p style="color:#bbb;background:#fff">浅灰色文字</p></main></body></html>'
        )
        with pytest.raises(AssertionError) as err:
            check_a11y(page, "a bad page")
        assert "label" in str(err.value) and "color-contrast" in str(err.value)
        page.set_content(
            '<html lang="zh-Hans"><head><title>x</title></head><body><main><h1>表单</h1>'
            '<label for="q">查询</label><input id="q"></main></body></html>'
        )
        check_a11y(page, "a good page")
    finally:
        page.close()
