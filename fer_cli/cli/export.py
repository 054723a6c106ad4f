from fer_cli.cli.errors import handle_errors


@handle_errors
def export() -> None:
    """TODO"""
