from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("loans", "0001_loans")]

    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE loans_loan_number START 1;",
            "DROP SEQUENCE IF EXISTS loans_loan_number;",
        ),
    ]
