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
