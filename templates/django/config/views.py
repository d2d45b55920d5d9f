"""The front page reports whether Django reached the database."""
import django
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.utils.html import escape


def database_status():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            (version,) = cursor.fetchone()
        settings = connection.settings_dict
        return True, f'Connected to database "{settings["NAME"]}" on {settings["HOST"]} as {settings["USER"]}. Server version: {version}'
    except Exception as exc:  # the page exists to show this error
        return False, f"Could not connect to the database: {exc}"


def index(request):
    ok, status = database_status()
    colour = "#11702a" if ok else "#b00020"
    return HttpResponse(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>It works — Django on pier</title>
<style>body {{ font-family: system-ui, sans-serif; max-width: 48rem; margin: 3rem auto; padding: 0 1rem; }}</style>
</head><body>
<h1>It works</h1>
<p>Django {escape(django.get_version())}.</p>
<p style="color: {colour}">{escape(status)}</p>
<p>Edit <code>config/views.py</code>; the server reloads. The admin is at <a href="/admin/">/admin/</a>
(create a user with <code>pier exec web -- python manage.py createsuperuser</code>).</p>
</body></html>"""
    )


def health(request):
    """Liveness for the container healthcheck: the process answers HTTP."""
    return JsonResponse({"status": "ok"})
