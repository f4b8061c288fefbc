"""``deliver_batch``: records read together reach ``handle_batch`` at once; bad input is
dead-lettered as alone; a batch that fails for its content falls back to one by one so that
only the message at fault is dead-lettered; an outage is retried, never dead-lettered."""

import pytest
from sqlalchemy.exc import OperationalError

from kernel.bus import delivery
from kernel.bus.delivery import deliver_batch
from kernel.bus.memory import RecordingPublisher
from kernel.bus.port import Subscription
from kernel.contracts.messages import RawMessage
from kernel.contracts.topics import Topic
from kernel.observability import Metrics
from tests.factories import raw_message


class Handler:
    """Applies messages; one whose text says POISON fails like a constraint violation, and the
    first ``outages`` batches fail like a database that is away."""

    def __init__(self, outages: int = 0) -> None:
        self.applied: list[str] = []
        self.batches: list[int] = []
        self.outages = outages

    async def one(self, message: RawMessage) -> None:
        await self.many([message])

    async def many(self, batch: list[RawMessage]) -> None:
        if self.outages:
            self.outages -= 1
            raise OperationalError("SELECT 1", {}, ConnectionError("server closed"))
        if any("POISON" in m.text for m in batch):
            raise ValueError("violates check constraint")
        self.batches.append(len(batch))
        self.applied.extend(m.message_id for m in batch)


@pytest.fixture(autouse=True)
def no_back_off_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    async def instantly(*_: object) -> None:
        return None

    monkeypatch.setattr(delivery, "_back_off", instantly)


def body(item: int, text: str = "Нет воды") -> bytes:
    return raw_message(item, text=text).model_dump_json().encode()


def subscription(handler: Handler) -> Subscription:
    return Subscription(Topic.RAW_MESSAGES, "test", RawMessage, handler.one, handler.many)


async def test_valid_records_are_handled_as_one_batch_and_bad_ones_dead_lettered() -> None:
    handler, publisher = Handler(), RecordingPublisher()
    bodies = [body(1), b"{not json", body(2), b'{"message_id": 5}', body(3)]
    await deliver_batch(subscription(handler), bodies, publisher, Metrics())
    assert handler.batches == [3]
    assert handler.applied == [raw_message(i).message_id for i in (1, 2, 3)]
    letters = publisher.letters()
    assert [letter.payload for letter in letters] == ["{not json", '{"message_id": 5}']
    assert all(letter.reason.startswith("invalid otklik.messages.raw") for letter in letters)


async def test_a_poison_message_is_dead_lettered_and_the_rest_of_its_batch_applied() -> None:
    handler, publisher = Handler(), RecordingPublisher()
    bodies = [body(1), body(2, "POISON"), body(3)]
    await deliver_batch(subscription(handler), bodies, publisher, Metrics())
    assert handler.applied == [raw_message(i).message_id for i in (1, 3)]
    assert handler.batches == [1, 1]  # one by one after the batch failed
    [letter] = publisher.letters()
    assert letter.payload == body(2, "POISON").decode()
    assert "handler failed 3 times: ValueError: violates check constraint" in letter.reason


async def test_an_outage_is_retried_with_the_whole_batch_and_nothing_dead_lettered() -> None:
    handler, publisher = Handler(outages=4), RecordingPublisher()
    await deliver_batch(subscription(handler), [body(1), body(2)], publisher, Metrics())
    assert handler.batches == [2]
    assert publisher.letters() == []


async def test_without_a_batch_handler_each_record_is_handled_alone() -> None:
    handler, publisher = Handler(), RecordingPublisher()
    alone = Subscription(Topic.RAW_MESSAGES, "test", RawMessage, handler.one)
    await deliver_batch(alone, [body(1), body(2)], publisher, Metrics())
    assert handler.batches == [1, 1]
