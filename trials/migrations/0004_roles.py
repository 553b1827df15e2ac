"""The curator roles as groups: curators edit drafts, reviewers also publish, retract and request changes."""

from django.db import migrations

STUDY_MODELS = ["study", "studycondition", "studycountry", "regulatorymilestone", "registryidentifier", "publication",
                "source", "cohort", "intervention", "outcomemeasure", "adverseevent"]
VOCABULARY_MODELS = ["condition", "celltype", "instrument", "sourcedocument"]


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def perms(actions, models):
        codenames = [f"{action}_{model}" for action in actions for model in models]
        return list(Permission.objects.filter(content_type__app_label="trials", codename__in=codenames))

    curator, _ = Group.objects.get_or_create(name="curator")
    curator.permissions.set(
        perms(["view", "add", "change", "delete"], STUDY_MODELS) + perms(["view", "add", "change"], VOCABULARY_MODELS)
    )
    reviewer, _ = Group.objects.get_or_create(name="reviewer")
    reviewer.permissions.set(
        perms(["view", "add", "change", "delete"], STUDY_MODELS)
        + perms(["view", "add", "change"], VOCABULARY_MODELS)
        + list(Permission.objects.filter(content_type__app_label="trials", codename="publish_study"))
    )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["curator", "reviewer"]).delete()


class Migration(migrations.Migration):
    dependencies = [("trials", "0003_publish_permission"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_roles, remove_roles)]
