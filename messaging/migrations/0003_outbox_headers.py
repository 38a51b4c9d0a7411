"""Outbox messages keep their AMQP headers: request id, account, acceptance time, trace context."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0002_outbox_shard_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxmessage",
            name="headers",
            field=models.JSONField(
                db_default={}, default=dict, help_text="Its AMQP headers: request id, account, trace context."
            ),
        ),
    ]
