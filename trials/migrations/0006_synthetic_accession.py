"""Synthetic benchmark studies get their own accession range, NCR-S0000001 ... (7 digits, up to 10 million),
allowed only on rows flagged is_synthetic; curated accessions keep the NCR-000123 format."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('trials', '0005_workflow'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='study',
            name='trials_study_accession_format',
        ),
        migrations.AlterField(
            model_name='historicalstudy',
            name='accession',
            field=models.CharField(db_index=True, editable=False, max_length=12, validators=[django.core.validators.RegexValidator('^NCR-\\d{6}$', 'An accession looks like NCR-000123.', 'invalid_accession')], verbose_name='accession'),
        ),
        migrations.AlterField(
            model_name='study',
            name='accession',
            field=models.CharField(editable=False, max_length=12, unique=True, validators=[django.core.validators.RegexValidator('^NCR-\\d{6}$', 'An accession looks like NCR-000123.', 'invalid_accession')], verbose_name='accession'),
        ),
        migrations.AddConstraint(
            model_name='study',
            constraint=models.CheckConstraint(condition=models.Q(('accession__regex', '^NCR-[0-9]{6}$'), models.Q(('accession__regex', '^NCR-S[0-9]{7}$'), ('is_synthetic', True)), _connector='OR'), name='trials_study_accession_format'),
        ),
    ]
