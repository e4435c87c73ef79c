"""The one table list (operations.datatables) covers every table of our apps."""

from django.apps import apps

from operations.datatables import APP_LABELS, DERIVED_TABLES, TABLES


def our_tables() -> set[str]:
    return {
        model._meta.db_table
        for label in APP_LABELS
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
    }


def test_every_table_of_our_apps_is_listed_or_excluded_with_a_reason():
    listed = set(TABLES) | set(DERIVED_TABLES)
    assert our_tables() - listed == set(), "add the new table to TABLES (or DERIVED_TABLES with a reason)"
    assert listed - our_tables() == set(), "a listed table no longer exists"
    assert all(reason.strip() for reason in DERIVED_TABLES.values())


def test_table_list_has_no_duplicates():
    assert len(TABLES) == len(set(TABLES))
