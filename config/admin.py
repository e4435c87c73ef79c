"""Admin bases shared by the apps' admin modules."""

from django.contrib import admin


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
