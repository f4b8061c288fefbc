"""How much one execute asks VK for: shrinking on VK's size limit, growing back after rounds
that leave room."""

from ingest.domain.vk_batching import BatchSize

LIMIT = 1000  # bytes; near the limit from 800


def test_too_big_halves_the_calls_down_to_one_and_a_refused_single_call_the_items() -> None:
    size = BatchSize(limit=LIMIT)
    seen = []
    for _ in range(5):
        size.too_big(size.calls)
        seen.append(size.calls)
    assert seen == [12, 6, 3, 1, 1]
    size = BatchSize(limit=LIMIT)
    size.too_big(20)  # a request smaller than the batch (20 posts): half of what was refused
    assert size.calls == 10
    for _ in range(4):
        size.fewer_items()
        seen.append(size.count)
    assert seen[5:] == [50, 25, 12, 10]


def test_a_response_near_the_limit_shrinks_before_vk_refuses_one() -> None:
    size = BatchSize(limit=LIMIT)
    size.measured(700, 25)
    assert size.calls == 25
    size.measured(850, 25)
    assert size.calls == 12


def test_grows_back_one_step_a_round_while_twice_as_much_would_fit() -> None:
    size = BatchSize(limit=LIMIT)
    for _ in range(4):
        size.too_big(size.calls)
    size.fewer_items()  # one call of 50 items
    size.end_round()  # the round that shrank does not grow
    assert (size.calls, size.count) == (1, 50)
    steps = []
    for _ in range(7):
        size.measured(10 * size.calls, size.calls)  # 10 bytes a call: room for all
        size.end_round()
        steps.append((size.calls, size.count))
    assert steps == [(1, 100), (2, 100), (4, 100), (8, 100), (16, 100), (25, 100), (25, 100)]


def test_holds_where_responses_fit_but_twice_as_many_calls_would_not() -> None:
    size = BatchSize(limit=LIMIT)
    size.too_big(size.calls)
    size.too_big(size.calls)  # 6 calls
    for _ in range(3):
        size.measured(6 * 100, 6)  # 600 bytes: fits, 1200 would not
        size.end_round()
    assert size.calls == 6


def test_a_round_that_shrank_does_not_grow_and_unbounded_single_calls_count_for_growth() -> None:
    size = BatchSize(limit=LIMIT)
    for _ in range(4):
        size.too_big(size.calls)
    size.fewer_items()  # (1, 50)
    size.end_round()
    assert (size.calls, size.count) == (1, 50)
    size.noted(3000, 1)  # a call on its own, far above the limit: VK's limit is on execute
    size.end_round()
    assert (size.calls, size.count) == (1, 50)
