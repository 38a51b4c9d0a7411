pytest_plugins = ["tests.support.oidc_fixtures"]
