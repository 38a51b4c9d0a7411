"""Check that journal transactions balance once per INSERT statement instead of once per row.

The worker writes a whole batch of transactions in one statement; a per-row deferred check ran a
sum for every row at commit. With the journal append-only, a transaction whose rows balance in the
statement that wrote them balances for good, so checking each statement's rows is enough.
"""

from django.db import migrations

PER_STATEMENT = """
DROP TRIGGER ledger_transaction_balanced ON ledger_entry;
DROP FUNCTION ledger_transaction_balanced();
CREATE FUNCTION ledger_transactions_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE unbalanced record;
BEGIN
    SELECT transaction_id, sum(amount) AS total INTO unbalanced
    FROM new_entries GROUP BY transaction_id HAVING sum(amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal transaction % sums to %, not 0', unbalanced.transaction_id, unbalanced.total
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER ledger_transactions_balanced AFTER INSERT ON ledger_entry
    REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION ledger_transactions_balanced();
"""

PER_ROW = """
DROP TRIGGER ledger_transactions_balanced ON ledger_entry;
DROP FUNCTION ledger_transactions_balanced();
CREATE FUNCTION ledger_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE total numeric;
BEGIN
    SELECT sum(amount) INTO total FROM ledger_entry WHERE transaction_id = NEW.transaction_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'journal transaction % sums to %, not 0', NEW.transaction_id, total
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_transaction_balanced AFTER INSERT ON ledger_entry
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balanced();
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_journal_integrity")]
    operations = [migrations.RunSQL(PER_STATEMENT, PER_ROW)]
