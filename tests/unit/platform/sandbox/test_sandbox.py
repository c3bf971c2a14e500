"""The sandbox's plain paths: files and stdin in, output and statuses out, names kept inside."""

from __future__ import annotations

import pytest

from twincore.platform.sandbox.languages import java_main_class, run_program
from twincore.platform.sandbox.runner import Limits, Sandbox


def test_files_and_stdin_reach_the_program() -> None:
    source = "import sys\nprint(open('data/in.txt').read().strip(), sys.stdin.read().upper())\n"
    result = run_program("python", source, files={"data/in.txt": "from a file"}, stdin=b"piped")
    assert result.status == "ok", result.log()
    assert result.stdout == "from a file PIPED\n"
    assert result.exit_code == 0 and result.wall_s > 0


def test_exit_codes_and_compiler_errors() -> None:
    assert run_program("python", "raise SystemExit(3)").exit_code == 3
    broken = run_program("java", "public class Main { void f( }")
    assert broken.status == "compile_error" and "Main.java" in broken.compile_output
    assert "compiler output" in broken.log()
    program = '#include <cstdio>\nint main() { std::printf("%d", 6 * 7); }'
    assert run_program("cpp", program).stdout == "42"


def test_a_file_name_may_not_leave_the_work_directory() -> None:
    with pytest.raises(ValueError, match="leaves the work directory"):
        Sandbox().run(["/usr/bin/true"], files={"../escape.txt": "x"})
    with pytest.raises(ValueError, match="unknown language"):
        run_program("cobol", "x")  # type: ignore[arg-type]


def test_java_file_is_named_after_its_public_class() -> None:
    assert java_main_class("import x;\npublic final class Runner {}") == "Runner"
    assert java_main_class("class A {}") == "Main"
    result = run_program(
        "java",
        'public class Runner { public static void main(String[] a) { System.out.print("r"); } }',
        limits=Limits(wall_s=30),
    )
    assert result.stdout == "r", result.log()
