"""Admin bases shared by the apps' admin modules."""

from django.contrib import admin
from django.contrib.admin.widgets import AdminSplitDateTime
from django.utils.text import capfirst


class ViewOnlyAdmin(admin.ModelAdmin):
    """Rows written only by services: staff may look (and delete), never add or edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class NoWritesAdmin(ViewOnlyAdmin):
    """Rows nobody touches in the admin, superusers included: no add, edit or delete."""

    def has_delete_permission(self, request, obj=None):
        return False


class DirectWriteMixin:
    """Change and delete views without the admin's atomic block, so save_model/delete_model
    may call a durable service (which opens the one transaction, with the audit row)."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        return self._delete_view(request, object_id, extra_context)


class LabelledDateTimesMixin:
    """The admin draws a date-time field as two boxes (date, time) whose <label> points at
    neither, so a screen reader reads "edit text" twice: each box gets its own name, the
    field's label plus "date" or "time" (WCAG 1.3.1 and 4.1.2)."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and isinstance(field.widget, AdminSplitDateTime):
            label = capfirst(str(field.label or db_field.verbose_name))
            date, time = field.widget.widgets
            date.attrs["aria-label"] = f"{label}: date"
            time.attrs["aria-label"] = f"{label}: time"
        return field
