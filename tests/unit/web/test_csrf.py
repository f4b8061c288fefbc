"""CSRF tokens: bound to the session, unguessable without it, compared in constant time."""

from services.web.csrf import session_csrf_token, tokens_match


def test_the_token_is_bound_to_the_session_and_does_not_reveal_it() -> None:
    one, other = session_csrf_token("session-a"), session_csrf_token("session-b")
    assert one == session_csrf_token("session-a")
    assert one != other
    assert "session-a" not in one


def test_missing_or_wrong_tokens_never_match() -> None:
    token = session_csrf_token("s")
    assert tokens_match(token, token)
    assert not tokens_match(token, None)
    assert not tokens_match(token, "")
    assert not tokens_match(None, None)
    assert not tokens_match(token, token[:-1] + "0" if token[-1] != "0" else token[:-1] + "1")
