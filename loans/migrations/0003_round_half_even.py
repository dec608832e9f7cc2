"""A HALF_EVEN rounding function for set-based SQL (PostgreSQL's ROUND rounds half away from
zero; the platform rounds money half-even, as Fineract does)."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION mfi_round_half_even(value numeric, places integer) RETURNS numeric AS $$
DECLARE
    factor numeric := power(10::numeric, places);
    shifted numeric := abs(value) * factor;
    whole numeric := floor(shifted);
    rest numeric := shifted - whole;
BEGIN
    IF rest > 0.5 OR (rest = 0.5 AND mod(whole, 2) <> 0) THEN
        whole := whole + 1;
    END IF;
    RETURN sign(value) * whole / factor;
END;
$$ LANGUAGE plpgsql IMMUTABLE STRICT;
"""


class Migration(migrations.Migration):
    dependencies = [("loans", "0002_loan_number_sequence")]

    operations = [
        migrations.RunSQL(FORWARD, "DROP FUNCTION IF EXISTS mfi_round_half_even(numeric, integer);")
    ]
