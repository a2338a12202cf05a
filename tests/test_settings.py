"""Settings that document themselves, config files and environments that fail loudly, and secrets that
never reach the screen."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from txscout.cli import app
from txscout.core.errors import UserError
from txscout.core.secrets import MASK, is_secret_name, mask_text, mask_url, mask_value
from txscout.core.settings import GROUPS, Settings, group_of, known_env_variables, load_settings

runner = CliRunner()


def config_show(*args: str) -> Any:
    return runner.invoke(app, ["config", "show", *args])


def shown(*args: str) -> dict[str, dict[str, Any]]:
    """``config show --json`` as {key: {group, value, source, description}}."""
    result = config_show("--json", *args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    return {s["key"]: {"group": g["name"], **s} for g in payload["groups"] for s in g["settings"]}


def assert_one_line_error(result: Any, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    assert ("Traceback" not in result.output and result.exception is None) or isinstance(result.exception, SystemExit)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0], result.stderr


# -- groups and descriptions ---------------------------------------------------------------------------


def test_every_field_is_described_and_in_exactly_one_group() -> None:
    assert list(GROUPS) == ["model", "loop budgets", "uncertainty", "evidence", "network", "storage", "benchmarks"]
    owners: dict[str, list[str]] = {}
    for name, group in GROUPS.items():
        assert (group.__doc__ or "").strip(), f"group {name} has no docstring"
        for key in group.model_fields:
            owners.setdefault(key, []).append(name)
    assert set(owners) == set(Settings.model_fields)
    assert all(len(groups) == 1 for groups in owners.values()), owners
    for key, field in Settings.model_fields.items():
        assert field.description and len(field.description) > 15, f"{key} has no real description"
    assert group_of("max_steps") == "loop budgets" and group_of("offline") == "network"
    assert group_of("memory_path") == "storage" and group_of("entropy_threshold") == "uncertainty"
    assert group_of("judge") == "benchmarks" and group_of("ray_workers") == "benchmarks"


def test_bench_runs_take_their_defaults_from_the_benchmark_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from txscout.benchmarks.cli import _executor_options

    monkeypatch.setenv("TXSCOUT_BENCH_CONCURRENCY", "3")
    monkeypatch.setenv("TXSCOUT_RAY_WORKERS", "5")
    settings = load_settings()
    chosen = _executor_options(settings, None, "local", None, False, False)
    assert (chosen["concurrency"], chosen["workers"]) == (3, 5)
    flagged = _executor_options(settings, 2, "local", 4, False, False)
    assert (flagged["concurrency"], flagged["workers"]) == (2, 4)


def test_access_environment_and_file_stay_flat(isolated_settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (isolated_settings / "config.toml").write_text('search_rounds = 4\nweb_backend = "searxng"\n')
    monkeypatch.setenv("TXSCOUT_MAX_STEPS", "3")
    settings = load_settings(offline=True)
    assert (settings.max_steps, settings.search_rounds, settings.web_backend, settings.offline) == (
        3,
        4,
        "searxng",
        True,
    )


def test_config_show_says_value_source_and_meaning_per_group(
    isolated_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (isolated_settings / "config.toml").write_text("max_tool_calls = 4\ncritique_rounds = 0\n")
    monkeypatch.setenv("TXSCOUT_TEMPERATURE", "0.3")
    monkeypatch.setenv("NCBI_API_KEY", "ncbi-secret-value")
    rows = shown("--mode", "react")
    assert rows["mode"] | {"description": ""} == {
        "group": "model",
        "key": "mode",
        "value": "react",
        "source": "flag",
        "description": "",
    }
    assert (rows["temperature"]["value"], rows["temperature"]["source"]) == (0.3, "env")
    assert (rows["max_tool_calls"]["value"], rows["max_tool_calls"]["source"]) == (4, "file")
    assert (rows["critique_rounds"]["group"], rows["critique_rounds"]["source"]) == ("uncertainty", "file")
    assert (rows["max_steps"]["value"], rows["max_steps"]["source"]) == (6, "default")
    assert (rows["ncbi_api_key"]["value"], rows["ncbi_api_key"]["source"]) == (MASK, "env")
    assert rows["max_steps"]["description"] == Settings.model_fields["max_steps"].description

    text = config_show("--mode", "react")
    assert text.exit_code == 0, text.output
    out = " ".join(text.stdout.split())
    for name, group in GROUPS.items():
        assert f"{name}: {' '.join(group.__doc__.split())[:40]}" in out
    assert "ncbi-secret-value" not in text.stdout and "flag" in out and "file" in out and "env" in out


def test_config_show_prints_values_from_files_as_text_not_markup(isolated_settings: Path) -> None:
    (isolated_settings / "config.toml").write_text('ncbi_email = "[b]me[/b]\\u001b[2J"\n')
    result = config_show()
    assert result.exit_code == 0, result.output
    assert "[b]me[/b]" in result.stdout and "\x1b" not in result.stdout


# -- config file and environment mistakes ---------------------------------------------------------------


def test_named_config_file_that_does_not_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TXSCOUT_CONFIG", str(tmp_path / "nope.toml"))
    assert_one_line_error(config_show(), "TXSCOUT_CONFIG names a file that does not exist")
    with pytest.raises(UserError, match="does not exist"):
        load_settings()


def test_config_path_that_is_a_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TXSCOUT_CONFIG", str(tmp_path))
    assert_one_line_error(config_show(), "is a directory")


def test_binary_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = tmp_path / "config.toml"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4)
    monkeypatch.setenv("TXSCOUT_CONFIG", str(binary))
    assert_one_line_error(config_show(), "is not text")
    binary.write_bytes(b"model = 'local'\x00\x00\n")
    assert_one_line_error(config_show(), "is not valid TOML")


def test_unknown_txscout_variables_are_named_in_one_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TXSCOUT_MAXSTEPS_TYPO", "3")
    monkeypatch.setenv("TXSCOUT_OFLINE_TYPO", "1")
    monkeypatch.setenv("txscout_max_steps", "4")  # known: the environment is read case-insensitively
    result = config_show("--json")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("warning:"), result.stderr
    assert "TXSCOUT_MAXSTEPS_TYPO" in lines[0] and "TXSCOUT_OFLINE_TYPO" in lines[0]
    assert "txscout_max_steps" not in lines[0]
    assert {"TXSCOUT_CONFIG", "TXSCOUT_DATA_DIR", "TXSCOUT_CACHE_DIR", "TXSCOUT_API_KEY"} <= known_env_variables()


def test_known_variables_raise_no_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TXSCOUT_SEARCH_ROUNDS", "1")
    result = config_show("--json")
    assert result.exit_code == 0 and result.stderr.strip() == "", result.stderr


# -- secrets -----------------------------------------------------------------------------------------------


def test_url_passwords_and_api_keys_are_masked_in_config_show(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TXSCOUT_BASE_URL", "http://user:pa55word@127.0.0.1:8765/v1")
    monkeypatch.setenv("TXSCOUT_PREDICTOR_URL", "https://tok3n-as-user@predictor.example/v1?api_key=k3y-v4lue&x=1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    for args in (("--json",), ()):
        result = config_show(*args)
        assert result.exit_code == 0, result.output
        for secret in ("pa55word", "tok3n-as-user", "k3y-v4lue", "sk-very-secret"):
            assert secret not in result.output
    rows = shown()
    assert rows["base_url"]["value"] == f"http://user:{MASK}@127.0.0.1:8765/v1"
    assert rows["predictor_url"]["value"] == f"https://{MASK}@predictor.example/v1?api_key={MASK}&x=1"
    assert rows["api_key"]["value"] == MASK and rows["token_limit"]["value"] == 60_000


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("http://user:pass@host:8080/v1", f"http://user:{MASK}@host:8080/v1"),
        ("https://ghp_token@github.com/o/r.git", f"https://{MASK}@github.com/o/r.git"),
        ("https://h/search?q=egfr&token=abc", f"https://h/search?q=egfr&token={MASK}"),
        (
            "https://eutils.ncbi.nlm.nih.gov/entrez/eutils?db=pubmed",
            "https://eutils.ncbi.nlm.nih.gov/entrez/eutils?db=pubmed",
        ),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_mask_text_hides_setting_secrets_wherever_they_appear() -> None:
    settings = Settings(api_key=SecretStr("sk-abcdef123"), ncbi_api_key=SecretStr("ncbi987654"))
    message = (
        "POST http://u:pw12@h/v1 failed with key sk-abcdef123; Authorization: Bearer eyJhbGciOi.x.y; "
        'ncbi=ncbi987654 {"password": "hunter22"} token_limit: 60000'
    )
    masked = mask_text(message, settings)
    for secret in ("sk-abcdef123", "pw12", "eyJhbGciOi", "ncbi987654", "hunter22"):
        assert secret not in masked
    assert "token_limit: 60000" in masked and "POST http://u:" in masked


def test_key_like_names() -> None:
    assert all(is_secret_name(n) for n in ("api_key", "ncbi_api_key", "OPENAI_API_KEY", "auth_token", "password"))
    assert not any(is_secret_name(n) for n in ("token_limit", "max_tokens", "model", "author", "monkey"))
    assert mask_value("github_token", "abc") == MASK and mask_value("cache_dir", Path("/x")) == "/x"
