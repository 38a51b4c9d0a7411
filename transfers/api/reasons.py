"""The body of the ops endpoints: `{"reason"}`; the core decides whether it is required."""

from __future__ import annotations

from rest_framework import serializers

from transfers.domain import errors


class ReasonRequest(serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, help_text="Why; required but on approve."
    )

    class Meta:
        ref_name = "Reason"


def reason_of(request) -> str | None:
    """The body's reason, None if absent; a body that is not an object, or a reason that is not a
    string, is a validation error."""
    data = request.data
    if not isinstance(data, dict):
        raise errors.ValidationFailed({"non_field_errors": ["the body must be a JSON object"]})
    reason = data.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise errors.ValidationFailed({"reason": ["must be a string"]})
    return reason
