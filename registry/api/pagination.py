"""Cursor pagination: stable pages over large, changing lists.

Keyset pagination on a total ordering: a cursor holds the values of every ordering field of the
row it starts after, so rows that share a timestamp (a sync stores many tags in the same
second) are neither skipped nor repeated, however many there are, and each page is one indexed
query whatever its depth. DRF's own ``CursorPagination`` keys on the first field only and
counts an offset past ties, which breaks beyond 1000 equal values.

A view chooses the ordering per request with ``get_pagination_ordering()`` (tags by
``?orderby=``) or ``pagination_ordering``; the last field must make it unique (a name, an id).
A cursor remembers the ordering it was made for and is refused (400) under another.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from collections.abc import Mapping, Sequence
from functools import reduce
from operator import or_
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from rest_framework import exceptions, pagination
from rest_framework.request import Request
from rest_framework.utils.urls import remove_query_param, replace_query_param

from registry.selectors import ROW_TIME_KEYS

INVALID_CURSOR = "This cursor is not valid for this list; start again from the first page."


class CursorPagination(pagination.CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = ("name",)

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        if hasattr(view, "get_pagination_ordering"):
            ordering = view.get_pagination_ordering()
        else:
            ordering = getattr(view, "pagination_ordering", self.ordering)
        if isinstance(ordering, str):
            ordering = (ordering,)
        assert ordering and all("__" not in field for field in ordering), ordering
        return tuple(ordering)

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: Any = None
    ) -> list[Any] | None:
        self.request = request
        self.page_size = self.get_page_size(request)
        if not self.page_size:
            return None
        self.base_url = request.build_absolute_uri()
        self.ordering = self.get_ordering(request, queryset, view)
        self.cursor = self.decode_cursor(request)

        reverse = bool(self.cursor and self.cursor.reverse)
        ordering = _reversed(self.ordering) if reverse else self.ordering
        queryset = queryset.order_by(*ordering)
        if self.cursor is not None:
            try:
                queryset = queryset.filter(_beyond(ordering, self.cursor.position))
            except (DjangoValidationError, ValueError, TypeError) as exc:
                raise self._invalid() from exc

        rows = list(queryset[: self.page_size + 1])
        has_more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if reverse:
            rows.reverse()
            self.has_previous, self.has_next = has_more, True
        else:
            self.has_next, self.has_previous = has_more, self.cursor is not None
        self.page = rows
        return rows

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        if not self.page:
            # An empty page reached backwards: start again from the top.
            return remove_query_param(self.base_url, self.cursor_query_param)
        return self._link(self._position(self.page[-1]), reverse=False)

    def get_previous_link(self) -> str | None:
        if not self.has_previous:
            return None
        position = self._position(self.page[0]) if self.page else self.cursor.position
        return self._link(position, reverse=True)

    def decode_cursor(self, request: Request) -> pagination.Cursor | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(encoded.encode("ascii")))
        except (ValueError, UnicodeError, binascii.Error) as exc:
            raise self._invalid() from exc
        if not isinstance(data, dict):
            raise self._invalid()
        position, reverse, ordering = data.get("p"), data.get("r"), data.get("o")
        if (
            ordering != list(self.ordering)
            or not isinstance(position, list)
            or len(position) != len(self.ordering)
            or not all(isinstance(value, str | int | float) for value in position)
            or not isinstance(reverse, bool)
        ):
            raise self._invalid()
        return pagination.Cursor(offset=0, reverse=reverse, position=position)

    def _link(self, position: list[Any], *, reverse: bool) -> str:
        data = {"o": list(self.ordering), "p": position, "r": reverse}
        encoded = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode())
        return replace_query_param(self.base_url, self.cursor_query_param, encoded.decode())

    def _position(self, row: Any) -> list[Any]:
        fields = [field.lstrip("-") for field in self.ordering]
        if isinstance(row, Mapping):  # a page of .values() rows
            # Their times come as the API's text (``updated`` for ``updated_at``), which the
            # cursor's filter parses back.
            return [
                _json_value(row.get(field, row.get(ROW_TIME_KEYS.get(field)))) for field in fields
            ]
        return [_json_value(getattr(row, field)) for field in fields]

    def _invalid(self) -> exceptions.ValidationError:
        return exceptions.ValidationError({self.cursor_query_param: [INVALID_CURSOR]})


def _reversed(ordering: Sequence[str]) -> tuple[str, ...]:
    return tuple(field[1:] if field.startswith("-") else f"-{field}" for field in ordering)


def _beyond(ordering: Sequence[str], position: Sequence[Any]) -> Q:
    """Rows after ``position`` in ``ordering``: (a > x) or (a = x and b > y) or …"""
    terms = []
    for i, field in enumerate(ordering):
        name = field.lstrip("-")
        lookup = "lt" if field.startswith("-") else "gt"
        equal = {f.lstrip("-"): value for f, value in zip(ordering[:i], position[:i], strict=True)}
        terms.append(Q(**equal, **{f"{name}__{lookup}": position[i]}))
    return reduce(or_, terms)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, str | int | float):
        return value
    return str(value)
