"""One settlement account per currency: the bank's side of every deposit and withdrawal."""

from django.db import migrations

from transfers.domain.money import Currency


def create_settlement_accounts(apps, schema_editor):
    Account = apps.get_model("accounts", "Account")
    for currency in Currency:
        Account.objects.get_or_create(
            kind="settlement",
            currency=currency.code,
            defaults={"daily_limit": currency.max_daily_limit},
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(create_settlement_accounts, migrations.RunPython.noop)]
