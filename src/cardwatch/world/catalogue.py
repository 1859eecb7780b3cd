"""What can be bought, and where: shop categories, national chains, websites and subscriptions.

Names are invented (no real brand is implied); merchant category codes, countries and typical
amounts follow what a French issuer sees. The cross-border websites are the point of the
``default`` world: honest cardholders pay American web hosts, registrars and software every month,
which is exactly what a blunt "block US internet payments" rule would break.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "CHAINS",
    "KINDS",
    "LOCAL_CATEGORIES",
    "SCENARIOS",
    "SUBSCRIPTIONS",
    "WEBSITES",
    "Chain",
    "LocalCategory",
    "Subscription",
    "Website",
]

#: Spending activities a card draws from; each maps to a kind of merchant.
KINDS = ("grocery", "transit", "fuel", "local", "retail", "web_domestic", "web_foreign", "atm")
#: Values of the ``scenario`` column ("" is honest); the order is the column's integer code.
SCENARIOS = ("", "breach", "skimmer", "card_testing", "lost_stolen", "phishing")


class LocalCategory(NamedTuple):
    mcc: str
    label_fr: str
    label_en: str
    home_weight: float  # how often residents shop there
    travel_weight: float  # how often visitors do
    median: float  # typical amount, EUR
    sigma: float  # spread of log amount
    counterfeit_target: bool  # where counterfeit cards are cashed out


LOCAL_CATEGORIES: tuple[LocalCategory, ...] = (
    LocalCategory("5462", "Boulangerie", "Bakery", 10, 4, 7.0, 0.5, False),
    LocalCategory("5814", "Café", "Coffee Bar", 10, 10, 8.0, 0.6, False),
    LocalCategory("5812", "Restaurant", "Restaurant", 10, 14, 32.0, 0.6, False),
    LocalCategory("5912", "Pharmacie", "Pharmacy", 6, 2, 17.0, 0.7, False),
    LocalCategory("5993", "Tabac Presse", "Newsagent", 6, 2, 9.0, 0.6, False),
    LocalCategory("5499", "Épicerie", "Grocery", 6, 6, 14.0, 0.6, False),
    LocalCategory("5942", "Librairie", "Books", 3, 1, 20.0, 0.5, False),
    LocalCategory("5651", "Boutique", "Fashion", 3, 3, 55.0, 0.6, False),
    LocalCategory("7230", "Coiffeur", "Hair Salon", 3, 0.2, 32.0, 0.4, False),
    LocalCategory("5992", "Fleuriste", "Florist", 2, 0.2, 25.0, 0.5, False),
    LocalCategory("5251", "Quincaillerie", "Hardware", 2, 0.2, 25.0, 0.7, False),
    LocalCategory("7523", "Parking", "Parking", 3, 2, 6.0, 0.6, False),
    LocalCategory("7011", "Hôtel", "Hotel", 0.2, 8, 130.0, 0.5, False),
    LocalCategory("7991", "Musée", "Attraction", 0.3, 5, 22.0, 0.5, False),
    LocalCategory("5732", "Hi-Fi", "Electronics", 0.5, 1, 140.0, 0.8, True),
    LocalCategory("5944", "Bijouterie", "Jewellery", 0.2, 0.5, 220.0, 0.8, True),
    LocalCategory("5311", "Galeries", "Department Store", 1, 2, 70.0, 0.7, True),
)

SURNAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
    "Vincent", "Fournier", "Morel", "Girard", "Andre", "Mercier", "Dupont", "Lambert", "Bonnet",
    "Francois", "Martinez", "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guerin",
)  # fmt: skip


class Chain(NamedTuple):
    name: str
    mcc: str
    kind: str  # "grocery", "fuel" or "retail"
    weight: float  # share of its kind's visits
    stores_per_10k_cards: float
    terminals: tuple[int, int]  # tills per store, inclusive range
    median: float
    sigma: float


CHAINS: tuple[Chain, ...] = (
    Chain("MarchéPlus", "5411", "grocery", 0.55, 45, (8, 16), 38.0, 0.7),
    Chain("Primeur", "5411", "grocery", 0.30, 30, (4, 8), 30.0, 0.7),
    Chain("Bio & Co", "5499", "grocery", 0.15, 12, (2, 4), 25.0, 0.6),
    Chain("Grand Bazar", "5310", "retail", 0.30, 24, (6, 12), 45.0, 0.8),
    Chain("Volt&Co", "5732", "retail", 0.10, 10, (4, 8), 110.0, 0.9),
    Chain("BricoMax", "5200", "retail", 0.15, 12, (4, 8), 50.0, 0.8),
    Chain("Mode Avenue", "5651", "retail", 0.18, 16, (2, 4), 45.0, 0.6),
    Chain("Burger Express", "5814", "retail", 0.27, 25, (3, 6), 14.0, 0.4),
    Chain("Station Azur", "5541", "fuel", 0.6, 30, (4, 8), 55.0, 0.35),
    Chain("Carbur'Ouest", "5542", "fuel", 0.4, 20, (2, 6), 50.0, 0.35),
)


class Website(NamedTuple):
    name: str
    country: str
    mcc: str
    group: str  # web_domestic, web_foreign, airline, hotel, fraud, testing
    weight: float  # honest popularity inside its group
    median: float
    sigma: float


WEBSITES: tuple[Website, ...] = (
    Website("ClicPrix", "FR", "5999", "web_domestic", 20, 45.0, 0.9),
    Website("Rail France", "FR", "4112", "web_domestic", 12, 55.0, 0.6),
    Website("Livraison Rapide", "FR", "5812", "web_domestic", 15, 24.0, 0.4),
    Website("Mode en Ligne", "FR", "5691", "web_domestic", 8, 60.0, 0.6),
    Website("MegaMart Online", "LU", "5999", "web_domestic", 25, 35.0, 0.9),
    Website("Billetterie Spectacles", "FR", "7922", "web_domestic", 4, 45.0, 0.5),
    Website("Pharmacie en Ligne", "FR", "5912", "web_domestic", 3, 25.0, 0.5),
    Website("Télécom Box", "FR", "4814", "web_domestic", 2, 30.0, 0.3),
    Website("HostGrid", "US", "4816", "web_foreign", 10, 15.0, 0.6),
    Website("NameSpring Domains", "US", "4816", "web_foreign", 6, 14.0, 0.4),
    Website("CodeForge", "US", "5734", "web_foreign", 6, 20.0, 0.5),
    Website("CloudDesk", "US", "5817", "web_foreign", 6, 12.0, 0.5),
    Website("DesignSuite", "IE", "5817", "web_foreign", 5, 28.0, 0.3),
    Website("AdBoost", "US", "7311", "web_foreign", 4, 40.0, 0.8),
    Website("GlobalBazaar", "CN", "5999", "web_foreign", 8, 18.0, 0.8),
    Website("AppMarket", "US", "5818", "web_foreign", 8, 4.0, 0.7),
    Website("RideNow", "NL", "4121", "web_foreign", 5, 16.0, 0.5),
    Website("StreamFlix", "NL", "4899", "web_foreign", 2, 13.5, 0.1),
    Website("Tunely", "SE", "5815", "web_foreign", 2, 11.0, 0.1),
    Website("PixelGames", "US", "5816", "web_foreign", 3, 15.0, 0.8),
    Website("GadgetDirect", "US", "5732", "web_foreign", 2, 90.0, 0.8),
    Website("GiftCardHub", "US", "5999", "web_foreign", 1, 50.0, 0.5),
    Website("CoinSwift", "MT", "6051", "web_foreign", 1, 100.0, 0.8),
    Website("Air Hexagone", "FR", "4511", "airline", 5, 180.0, 0.5),
    Website("EuroJet", "IE", "4511", "airline", 4, 90.0, 0.5),
    Website("Transatlantic Air", "US", "4511", "airline", 2, 650.0, 0.4),
    Website("StayBooker", "NL", "4722", "hotel", 6, 280.0, 0.6),
    Website("HotelRooms", "US", "7011", "hotel", 3, 320.0, 0.6),
    # Where stolen card numbers are spent or tested; a few honest people use them too.
    Website("GadgetDirect", "US", "5732", "fraud", 6, 400.0, 0.6),
    Website("GiftCardHub", "US", "5999", "fraud", 5, 200.0, 0.4),
    Website("CoinSwift", "MT", "6051", "fraud", 4, 500.0, 0.6),
    Website("LuxeWatch", "HK", "5944", "fraud", 3, 700.0, 0.5),
    Website("ClicPrix", "FR", "5999", "fraud", 3, 300.0, 0.6),
    Website("MegaMart Online", "LU", "5999", "fraud", 3, 250.0, 0.6),
    Website("Transatlantic Air", "US", "4511", "fraud", 1, 800.0, 0.4),
    Website("HelpingHands Charity", "US", "8398", "testing", 4, 1.0, 0.5),
    Website("PixelGames", "US", "5816", "testing", 3, 1.5, 0.5),
    Website("QuickTopUp", "GB", "4814", "testing", 3, 2.0, 0.4),
)


class Subscription(NamedTuple):
    website: str  # name of a Website (domestic or foreign group)
    amount: float  # charged every month, credential on file
    weight: float  # popularity among all cards
    pro_weight: float  # popularity among cardholders running a website or a business


SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription("StreamFlix", 13.49, 10, 10),
    Subscription("Tunely", 10.99, 6, 6),
    Subscription("Télécom Box", 29.99, 8, 8),
    Subscription("CloudDesk", 9.99, 2, 8),
    Subscription("HostGrid", 7.99, 0.5, 10),
    Subscription("CodeForge", 19.0, 0.3, 6),
    Subscription("DesignSuite", 23.99, 0.5, 5),
)
