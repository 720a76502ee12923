"""The scope grammar ``app:resource[:action]`` and tier specs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth.errors import InvalidScopeError, ReservedScopeError
from auth.scopes import (
    SCOPE_MAX_LENGTH,
    Tier,
    effective_scopes,
    is_reserved,
    parse_scope_spec,
    parse_scope_specs,
    tier_of,
    validate_scope,
    validate_scope_map,
)

PART_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789_-"
parts = st.text(alphabet=PART_ALPHABET, min_size=1, max_size=20)
valid_scopes = st.lists(parts, min_size=2, max_size=3).map(":".join)


def _reference_accepts(scope: str) -> bool:
    """An independent statement of the grammar."""
    pieces = scope.split(":")
    return (
        len(scope) <= SCOPE_MAX_LENGTH
        and len(pieces) in (2, 3)
        and all(piece and set(piece) <= set(PART_ALPHABET) for piece in pieces)
    )


@given(valid_scopes)
def test_every_scope_in_the_grammar_is_accepted(scope: str) -> None:
    assert validate_scope(scope) == scope


@given(st.lists(parts, min_size=0, max_size=6).filter(lambda p: len(p) not in (2, 3)).map(":".join))
def test_scopes_with_the_wrong_number_of_parts_are_rejected(scope: str) -> None:
    with pytest.raises(InvalidScopeError) as excinfo:
        validate_scope(scope)
    assert excinfo.value.code == "invalid_scope"


@given(
    st.lists(parts, min_size=2, max_size=3),
    st.data(),
    st.characters().filter(lambda c: c not in PART_ALPHABET and c != ":"),
)
def test_a_character_outside_the_part_alphabet_is_rejected(pieces: list[str], data: st.DataObject, bad: str) -> None:
    index = data.draw(st.integers(0, len(pieces) - 1))
    at = data.draw(st.integers(0, len(pieces[index])))
    pieces[index] = pieces[index][:at] + bad + pieces[index][at:]
    with pytest.raises(InvalidScopeError):
        validate_scope(":".join(pieces))


@given(st.text(alphabet=st.sampled_from(list("ab09_-:Z .\n\t/é=")), max_size=12) | st.text(max_size=40))
def test_scope_validation_agrees_with_the_reference_grammar(candidate: str) -> None:
    try:
        validate_scope(candidate)
    except InvalidScopeError:
        accepted = False
    else:
        accepted = True
    assert accepted == _reference_accepts(candidate)


def test_overlong_scopes_and_non_strings_are_rejected() -> None:
    longest = "a:" + "b" * (SCOPE_MAX_LENGTH - 2)
    assert validate_scope(longest) == longest
    for bad in [longest + "c", None, 42, b"things:read", ["things", "read"]]:
        with pytest.raises(InvalidScopeError):
            validate_scope(bad)


@pytest.mark.parametrize("bad", ["Things:read", "things:Read", "things:", ":read", "things::read", "things:read\n"])
def test_near_misses_are_rejected(bad: str) -> None:
    with pytest.raises(InvalidScopeError):
        validate_scope(bad)


def test_a_bare_scope_name_means_allow_and_tiers_parse() -> None:
    assert parse_scope_spec("things:read") == ("things:read", Tier.ALLOW)
    assert parse_scope_spec("gpg:sign=prompt") == ("gpg:sign", Tier.PROMPT)
    assert parse_scope_spec("things:write:todo=deny") == ("things:write:todo", Tier.DENY)


@pytest.mark.parametrize("spec", ["things:read=maybe", "things:read=", "things:read=ALLOW", "=allow"])
def test_bad_tier_specs_are_rejected(spec: str) -> None:
    with pytest.raises(InvalidScopeError) as excinfo:
        parse_scope_spec(spec)
    assert excinfo.value.code == "invalid_scope"


def test_reserved_scopes_are_refused_unless_allowed() -> None:
    with pytest.raises(ReservedScopeError) as excinfo:
        parse_scope_spec("agent-auth:admin")
    assert excinfo.value.code == "reserved_scope"
    with pytest.raises(ReservedScopeError):
        validate_scope_map({"agent-auth:approve": "allow"})
    assert parse_scope_spec("agent-auth:admin", allow_reserved=True) == ("agent-auth:admin", Tier.ALLOW)
    assert parse_scope_spec("agent-authx:admin") == ("agent-authx:admin", Tier.ALLOW)


def test_the_same_scope_twice_with_different_tiers_is_rejected() -> None:
    assert parse_scope_specs(["a:b", "a:b=allow"]) == {"a:b": Tier.ALLOW}
    # A spec without a tier takes the caller's default (what a person picks once for all of them).
    assert parse_scope_specs(["a:b", "c:d=deny"], default_tier=Tier.PROMPT) == {"a:b": Tier.PROMPT, "c:d": Tier.DENY}
    with pytest.raises(InvalidScopeError):
        parse_scope_specs(["a:b=allow", "a:b=deny"])


def test_matching_is_exact_and_an_absent_scope_is_deny() -> None:
    scopes = {"things:read": Tier.ALLOW, "gpg:sign": Tier.PROMPT}
    assert tier_of(scopes, "things:read") is Tier.ALLOW
    assert tier_of(scopes, "gpg:sign") is Tier.PROMPT
    assert tier_of(scopes, "things:read:todo") is Tier.DENY
    assert tier_of(scopes, "things") is Tier.DENY


def test_gpg_sign_implies_gpg_verify_at_its_tier_unless_the_family_names_gpg_verify() -> None:
    assert effective_scopes({"gpg:sign": Tier.PROMPT}) == {"gpg:sign": Tier.PROMPT, "gpg:verify": Tier.PROMPT}
    assert effective_scopes({"gpg:sign": Tier.ALLOW, "gpg:verify": Tier.DENY})["gpg:verify"] is Tier.DENY
    assert effective_scopes({"gpg:verify": Tier.ALLOW}) == {"gpg:verify": Tier.ALLOW}
    assert effective_scopes({"things:read": Tier.ALLOW}) == {"things:read": Tier.ALLOW}


@pytest.mark.parametrize("scope", ["agent-auth:x:y", "agent-auth:admin:write", "agent-auth:a"])
def test_reserved_scopes_of_two_and_three_parts_are_refused_everywhere(scope: str) -> None:
    assert is_reserved(scope)
    with pytest.raises(ReservedScopeError):
        parse_scope_spec(f"{scope}=prompt")
    with pytest.raises(ReservedScopeError):
        parse_scope_specs(["things:read", scope])
    with pytest.raises(ReservedScopeError):
        validate_scope_map({scope: "allow"})
    assert parse_scope_specs([scope], allow_reserved=True) == {scope: Tier.ALLOW}
    assert validate_scope_map({scope: "deny"}, allow_reserved=True) == {scope: Tier.DENY}


@pytest.mark.parametrize("scope", ["things:agent-auth", "things:x:agent-auth", "agent-authx:y:z", "xagent-auth:y"])
def test_agent_auth_elsewhere_than_the_app_part_is_not_reserved(scope: str) -> None:
    assert not is_reserved(scope)
    assert parse_scope_specs([scope]) == {scope: Tier.ALLOW}


@pytest.mark.parametrize("specs", ["things:read", b"things:read", [None], [12], [b"things:read"]])
def test_scope_specs_that_are_not_a_list_of_strings_are_invalid_scopes(specs: object) -> None:
    """A bare string would otherwise be read one character at a time; a non-string spec has no ``=``."""
    with pytest.raises(InvalidScopeError) as excinfo:
        parse_scope_specs(specs)  # type: ignore[arg-type]
    assert excinfo.value.code == "invalid_scope"


def _message(scope: object) -> str:
    with pytest.raises(InvalidScopeError) as excinfo:
        validate_scope(scope)
    return str(excinfo.value)


def test_a_rejected_scope_is_shown_verbatim_only_when_short_and_printable() -> None:
    """Scope text comes from agents: control characters and long strings never reach a message raw."""
    assert "'Things:Read'" not in _message("Things:Read") and "Things:Read" in _message("Things:Read")
    sixty = "A" * 60
    assert f"invalid scope {sixty}:" in _message(sixty)
    sixty_one = "A" * 61
    assert f"invalid scope {'A' * 60!r}:" in _message(sixty_one)
    assert sixty_one not in _message(sixty_one)
    hostile = "a:\x1b[31mred"
    assert "\x1b" not in _message(hostile)
    assert repr(hostile) in _message(hostile)
    assert "\n" not in _message("a:b\nforged: line")
