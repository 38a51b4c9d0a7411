"""The URL map: API, health, metrics, schema, admin and the OIDC sign-in views."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.admin_site import admin_login_via_oidc
from accounts.api import ops as account_ops
from accounts.api import views as accounts
from config import bootstrap, health
from ledger import api as ledger
from telemetry.http import metrics_view
from transfers.api import reversals
from transfers.api import views as transfers

app = bootstrap.api()
api = [
    path(
        "accounts",
        accounts.AccountsView.as_view(open_account=app.open_account, limit_figures=app.limit_figures),
    ),
    path(
        "accounts/<uuid:account_id>",
        accounts.AccountView.as_view(read_account=app.read_account, limit_figures=app.limit_figures),
    ),
    path(
        "accounts/<uuid:account_id>/close",
        accounts.CloseAccountView.as_view(close_account=app.close_account, limit_figures=app.limit_figures),
    ),
    path(
        "accounts/<uuid:account_id>/entries", ledger.AccountEntriesView.as_view(read_account=app.read_account)
    ),
    path(
        "accounts/<uuid:account_id>/events",
        transfers.AccountEventsView.as_view(read_account=app.read_account),
    ),
    path(
        "accounts/<uuid:account_id>/deposits",
        transfers.DepositView.as_view(accept_movement=app.accept_movement, waiter=app.waiter),
    ),
    path(
        "accounts/<uuid:account_id>/withdrawals",
        transfers.WithdrawalView.as_view(accept_movement=app.accept_movement, waiter=app.waiter),
    ),
    path("transfers", transfers.TransferView.as_view(accept_movement=app.accept_movement, waiter=app.waiter)),
    path("events/<uuid:event_id>", transfers.EventView.as_view(read_event=app.read_event, waiter=app.waiter)),
    # Ops: the admin calls the same use cases (config/admin.py).
    path(
        "accounts/<uuid:account_id>/freeze",
        account_ops.FreezeAccountView.as_view(
            set_account_frozen=app.set_account_frozen, limit_figures=app.limit_figures
        ),
    ),
    path(
        "accounts/<uuid:account_id>/unfreeze",
        account_ops.UnfreezeAccountView.as_view(
            set_account_frozen=app.set_account_frozen, limit_figures=app.limit_figures
        ),
    ),
    path(
        "events/<uuid:event_id>/reversal",
        reversals.RequestReversalView.as_view(request_reversal=app.request_reversal),
    ),
    path("reversals", reversals.ReversalsView.as_view()),
    path(
        "reversals/<uuid:request_id>/approve",
        reversals.ApproveReversalView.as_view(approve_reversal=app.approve_reversal),
    ),
    path(
        "reversals/<uuid:request_id>/decline",
        reversals.DeclineReversalView.as_view(decline_reversal=app.decline_reversal),
    ),
]

urlpatterns = [
    path("api/v1/", include(api)),
    path("healthz", health.healthz),
    path("readyz", health.readyz),
    path("metrics", metrics_view),  # all gunicorn workers together; keep it off the public ingress
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/login/", admin_login_via_oidc),
    path("admin/", admin.site.urls),
    path("oidc/", include("accounts.urls_oidc")),
]

handler404 = "web.errors.not_found"
handler500 = "web.errors.server_error"
