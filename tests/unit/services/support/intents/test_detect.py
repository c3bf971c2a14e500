"""Intent detection from keywords plus linked entities."""

from __future__ import annotations

import pytest

from twincore.services.support.intents.detect import IntentName, detect
from twincore.services.support.intents.linking import Entity, Links

ORDER = Links(order=Entity("Order", "10248", "order 10248", 1.0))
PRODUCT = Links(product=Entity("Product", "1", "Chai", 1.0))
CUSTOMER = Links(customer=Entity("Customer", "ALFKI", "Alfreds Futterkiste", 1.0))


@pytest.mark.parametrize(
    ("question", "links", "expected"),
    [
        ("status of order 10248", ORDER, IntentName.ORDER_STATUS),
        ("where is order 10248 going, what address?", ORDER, IntentName.SHIPPING),
        ("who supplies chai", PRODUCT, IntentName.SUPPLIER),
        ("price of chai", PRODUCT, IntentName.PRODUCT_INFO),
        ("is chai available", PRODUCT, IntentName.PRODUCT_INFO),
        ("chai is broken, how to fix", PRODUCT, IntentName.KNOWN_ISSUE),
        ("last order of alfreds", CUSTOMER, IntentName.LAST_ORDER),
        ("order history of alfreds", CUSTOMER, IntentName.HISTORY),
        ("status of order 99999", Links(missing_order_id="99999"), IntentName.ORDER_STATUS),
    ],
)
def test_detect(question: str, links: Links, expected: IntentName) -> None:
    intent = detect(question, links)
    assert intent is not None and intent.name == expected


def test_no_entity_no_template() -> None:
    assert detect("which country has the most customers?", Links()) is None
    assert detect("tell me about chai", PRODUCT) is None
