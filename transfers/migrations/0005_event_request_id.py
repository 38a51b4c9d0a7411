"""Events keep the X-Request-ID of the request that created them (API.md "Operations")."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("transfers", "0004_event_pending_oldest"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="request_id",
            field=models.CharField(
                blank=True,
                db_default="",
                help_text="X-Request-ID of the request that created it.",
                max_length=200,
            ),
        ),
    ]
