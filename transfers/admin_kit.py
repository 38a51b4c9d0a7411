"""What every ops page in the admin shares: who is asking, money and times as people read them,
links to other objects, and running a use case from a form with its refusal shown as a message.

The admin pages are the second door to the same use cases as the API: each app's ModelAdmin gets
them (bound) from the composition root (config/admin.py), never by importing config.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html

from transfers.api.access import request_id_of
from transfers.domain import errors
from transfers.domain.model import Caller
from transfers.domain.money import Currency, format_money


def caller_of_admin(request: HttpRequest) -> Caller:
    """A signed-in admin user: staff only with the ops role (set at each sign-in)."""
    return Caller(user_id=request.user.id, is_ops=request.user.is_staff, request_id=request_id_of(request))


def money(minor: int | None, currency: str) -> str:
    """ "2,500.00 USD": major units with the currency; blank for no amount."""
    return "" if minor is None else format_money(minor, Currency[currency])


def when(moment: dt.datetime | None) -> str:
    """A time in the bank's zone, saying which: "2026-11-29 18:57:01 KST (UTC+09:00)"."""
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()} (UTC{offset[:3]}:{offset[3:]})"


def admin_url(model: str, object_id: object) -> str | None:
    """The admin page of an object: `model` as "app_label.modelname"."""
    app_label, name = model.split(".")
    try:
        return reverse(f"admin:{app_label}_{name}_change", args=[object_id])
    except NoReverseMatch:
        return None


def link(model: str, object_id: object, text: object = None) -> str:
    """A link to an object's admin page, shown as `text` (its id if none); blank for no object."""
    if object_id is None or object_id == "":
        return ""
    url = admin_url(model, object_id)
    label = str(object_id) if text is None else text
    return format_html('<a href="{}">{}</a>', url, label) if url else format_html("{}", label)


def short(object_id: uuid.UUID | str | None) -> str:
    return "" if object_id is None else str(object_id)[:8] + "…"


def person_name(user) -> str:
    """How a user is named to ops: their username from the identity provider, else the subject."""
    if user is None:
        return ""
    person = getattr(user, "person", None)  # a missing one-to-one raises an AttributeError
    if person is not None and person.preferred_username:
        return person.preferred_username
    return user.username


def run_action(request: HttpRequest, action: Callable[[], object], *, done: str, back: str):
    """Run a use case from a POSTed form: its refusal (the contract's message) or `done` is shown
    as a message on the page the browser goes `back` to."""
    try:
        action()
    except errors.RemitError as refusal:
        detail = getattr(refusal, "fields", None)
        text = refusal.message
        if detail:
            text += " " + "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in detail.items())
        messages.error(request, f"Refused ({refusal.code}): {text}")
    else:
        messages.success(request, done)
    return HttpResponseRedirect(back)


class ExactSearch:
    """An admin search that uses the indexes: a term that is a UUID is looked up exactly in
    `uuid_search_fields`, any other term case-insensitively in `text_search_fields` (whole values:
    a username, an email, a reference). Mixed into a ModelAdmin."""

    uuid_search_fields: tuple[str, ...] = ()
    text_search_fields: tuple[str, ...] = ()

    def get_search_fields(self, request) -> tuple[str, ...]:
        return self.uuid_search_fields + self.text_search_fields  # shows the search box

    def get_search_results(self, request, queryset, search_term: str):
        from django.db.models import Q

        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            as_uuid = uuid.UUID(term)
        except ValueError:
            fields = [f"{name}__iexact" for name in self.text_search_fields]
            value: object = term
        else:
            fields, value = list(self.uuid_search_fields), as_uuid
        if not fields:
            return queryset.none(), False
        query = Q()
        for field in fields:
            query |= Q(**{field: value})
        return queryset.filter(query), False
