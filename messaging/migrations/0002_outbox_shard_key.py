"""The outbox keeps the account's shard key, not a shard: the shard is worked out at relay time."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_initial")]

    operations = [
        # Outbox rows live for milliseconds; one left from before this migration is replayable
        # with `manage.py replay_events`, so they are not carried over.
        migrations.RunSQL("DELETE FROM messaging_outboxmessage", migrations.RunSQL.noop),
        migrations.RemoveIndex(model_name="outboxmessage", name="outbox_shard_order"),
        migrations.RemoveField(model_name="outboxmessage", name="routing_key"),
        migrations.RemoveField(model_name="outboxmessage", name="shard"),
        migrations.AddField(
            model_name="outboxmessage",
            name="event_type",
            field=models.CharField(
                choices=[("deposit", "deposit"), ("withdrawal", "withdrawal"), ("transfer", "transfer")],
                max_length=10,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="shard_key",
            field=models.BigIntegerField(help_text="shard_key() of the account the event is ordered by."),
            preserve_default=False,
        ),
    ]
