"""The ``kanri`` command. It talks to the API, never to the database."""
