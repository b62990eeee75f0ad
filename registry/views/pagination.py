"""Pagination for HTML lists: LIMIT/OFFSET pages with one COUNT, bounded page sizes."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

DEFAULT_PAGE_SIZE = 50
PAGE_SIZES = (25, 50, 100)


def paginate(request: HttpRequest, queryset: QuerySet, *, per_page: int | None = None) -> Page:
    """The requested page of ``queryset`` (``?page=``); a bad or too-large number gives the
    nearest real page instead of an error."""
    size = per_page or _page_size(request.GET.get("per_page", ""))
    return Paginator(queryset, size).get_page(request.GET.get("page"))


def _page_size(value: str) -> int:
    try:
        size = int(value)
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE
