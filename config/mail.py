"""The development email backend (EMAIL_URL=consolemail://): Django's console backend, with
each message framed by a banner so an emailed code stands out in `make run`'s console."""

from django.core.mail.backends.console import EmailBackend as ConsoleBackend

BANNER = "=" * 30 + " EMAIL (EMAIL_URL=consolemail://) " + "=" * 30


class EmailBackend(ConsoleBackend):
    def write_message(self, message):
        self.stream.write(f"\n{BANNER}\n")
        self.stream.write(f"To: {', '.join(message.recipients())}   Subject: {message.subject}\n")
        self.stream.write(f"{message.body}\n")
        self.stream.write(f"{'=' * len(BANNER)}\n\n")
