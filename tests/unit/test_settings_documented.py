from pathlib import Path

from kernel.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_listed_in_the_readme_with_its_default() -> None:
    text = README.read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        variable = f"OTKLIK_{name.upper()}"
        line = next((ln for ln in text.splitlines() if ln.startswith(f"| `{variable}`")), None)
        assert line is not None, f"{variable} missing from README"
        default = field.get_default(call_default_factory=True)
        shown = "unset" if default is None else ("empty" if default in ("", {}) else f"`{default}`")
        assert f"| {shown} |" in line, f"{variable}: README default differs from {default!r}"
