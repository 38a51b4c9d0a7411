"""URL patterns of the admin's OIDC sign-in, to include at `oidc/`, named as the library expects."""

from django.urls import path

from accounts.admin_site import AdminSignInCallbackView, AdminSignInView

urlpatterns = [
    path("authenticate/", AdminSignInView.as_view(), name="oidc_authentication_init"),
    path("callback/", AdminSignInCallbackView.as_view(), name="oidc_authentication_callback"),
]
