"""An index of the public studies' ids, so filters, facets and totals need not read the wide study table."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('trials', '0007_search_and_stamp'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='study',
            index=models.Index(fields=['curation_state', 'id'], name='trials_study_state_id'),
        ),
    ]
