"""Category specifications for the sample catalog: product types, attribute generators, prose pools."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

COLOURS = ["black", "white", "navy", "red", "green", "grey", "blue", "beige", "olive", "yellow", "pink", "brown"]
SIZES = ["XS", "S", "M", "L", "XL"]

AttrGen = Callable[[random.Random], dict[str, Any]]


@dataclass(frozen=True)
class Category:
    """One category: where it sits, what it sells, and the phrases its descriptions draw from."""

    key: str
    path: str
    types: list[str]
    brands: list[str]
    price: tuple[float, float]
    attrs: AttrGen
    uses: list[str]
    features: list[str] = field(default_factory=list)


def _apparel(r: random.Random) -> dict[str, Any]:
    return {
        "colour": r.choice(COLOURS),
        "size": r.choice(SIZES),
        "material": r.choice(["nylon", "polyester", "cotton", "wool", "recycled polyester", "softshell"]),
        "waterproof": r.random() < 0.5,
        "weight_g": r.randrange(180, 900, 10),
    }


def _shoes(r: random.Random) -> dict[str, Any]:
    return {
        "colour": r.choice(COLOURS),
        "size_eu": r.randrange(36, 47),
        "material": r.choice(["leather", "mesh", "suede", "canvas", "synthetic"]),
        "waterproof": r.random() < 0.4,
        "weight_g": r.randrange(220, 700, 10),
    }


def _bags(r: random.Random) -> dict[str, Any]:
    return {
        "colour": r.choice(COLOURS),
        "capacity_l": r.choice([12, 18, 20, 25, 28, 30, 35, 40, 45, 55]),
        "material": r.choice(["nylon", "canvas", "recycled polyester", "leather"]),
        "waterproof": r.random() < 0.45,
        "laptop_sleeve": r.random() < 0.6,
    }


def _audio(r: random.Random) -> dict[str, Any]:
    return {
        "colour": r.choice(["black", "white", "navy", "grey", "pink", "green"]),
        "battery_life_h": r.choice([6, 8, 10, 12, 20, 24, 30, 40, 50]),
        "noise_cancelling": r.random() < 0.5,
        "wireless": r.random() < 0.85,
        "waterproof": r.random() < 0.3,
    }


def _phones(r: random.Random) -> dict[str, Any]:
    return {
        "colour": r.choice(["black", "white", "blue", "green", "pink", "grey"]),
        "storage_gb": r.choice([64, 128, 256, 512]),
        "screen_in": r.choice([5.8, 6.1, 6.4, 6.7]),
        "battery_mah": r.randrange(3000, 5600, 100),
        "waterproof": r.random() < 0.6,
    }


def _laptops(r: random.Random) -> dict[str, Any]:
    return {
        "colour": r.choice(["grey", "black", "white", "blue"]),
        "ram_gb": r.choice([8, 16, 32]),
        "storage_gb": r.choice([256, 512, 1024]),
        "screen_in": r.choice([13.3, 14.0, 15.6, 16.0]),
        "battery_life_h": r.choice([6, 8, 10, 12, 14, 18]),
        "weight_g": r.randrange(1000, 2400, 50),
    }


def _watches(r: random.Random) -> dict[str, Any]:
    return {
        "colour": r.choice(COLOURS[:8]),
        "battery_life_h": r.choice([24, 48, 72, 120, 168, 336]),
        "waterproof": r.random() < 0.75,
        "gps": r.random() < 0.6,
        "strap_material": r.choice(["silicone", "leather", "nylon", "steel"]),
    }


def _kitchen(r: random.Random) -> dict[str, Any]:
    return {
        "colour": r.choice(["black", "white", "red", "grey", "beige"]),
        "power_w": r.choice([400, 600, 800, 1000, 1200, 1500, 2000]),
        "capacity_l": r.choice([0.5, 1.0, 1.5, 1.7, 2.0, 3.5, 5.0]),
        "material": r.choice(["stainless steel", "plastic", "glass", "aluminium"]),
        "dishwasher_safe": r.random() < 0.5,
    }


def _furniture(r: random.Random) -> dict[str, Any]:
    return {
        "colour": r.choice(["black", "white", "grey", "beige", "brown", "green"]),
        "material": r.choice(["oak", "pine", "walnut", "steel", "bamboo", "fabric"]),
        "width_cm": r.randrange(40, 200, 5),
        "max_load_kg": r.choice([80, 100, 120, 150]),
        "assembly_required": r.random() < 0.7,
    }


def _lighting(r: random.Random) -> dict[str, Any]:
    return {
        "colour": r.choice(["black", "white", "grey", "brown", "green", "yellow"]),
        "material": r.choice(["aluminium", "brass", "glass", "ceramic", "wood"]),
        "dimmable": r.random() < 0.6,
        "power_w": r.choice([5, 8, 10, 12, 18, 25]),
        "smart": r.random() < 0.3,
    }


def _bedding(r: random.Random) -> dict[str, Any]:
    return {
        "colour": r.choice(["white", "grey", "beige", "navy", "green", "pink"]),
        "material": r.choice(["cotton", "linen", "bamboo", "microfibre", "wool"]),
        "size": r.choice(["single", "double", "king", "super king"]),
        "thread_count": r.choice([200, 300, 400, 600]),
        "machine_washable": r.random() < 0.85,
    }


def _cookware(r: random.Random) -> dict[str, Any]:
    return {
        "colour": r.choice(["black", "grey", "red", "blue", "beige"]),
        "material": r.choice(["cast iron", "stainless steel", "aluminium", "ceramic", "carbon steel"]),
        "diameter_cm": r.choice([16, 20, 24, 26, 28, 30]),
        "induction": r.random() < 0.7,
        "dishwasher_safe": r.random() < 0.5,
    }


def _toys(r: random.Random) -> dict[str, Any]:
    return {
        "colour": r.choice(COLOURS),
        "age_min": r.choice([1, 3, 5, 6, 8, 10, 12]),
        "material": r.choice(["wood", "plastic", "cardboard", "plush"]),
        "pieces": r.choice([1, 12, 50, 100, 250, 500, 1000]),
        "battery_powered": r.random() < 0.3,
    }


def _beauty(r: random.Random) -> dict[str, Any]:
    return {
        "volume_ml": r.choice([30, 50, 100, 150, 200, 250]),
        "skin_type": r.choice(["all", "dry", "oily", "sensitive", "combination"]),
        "vegan": r.random() < 0.55,
        "fragrance_free": r.random() < 0.4,
        "spf": r.choice([0, 0, 15, 30, 50]),
    }


def _fitness(r: random.Random) -> dict[str, Any]:
    return {
        "colour": r.choice(COLOURS),
        "material": r.choice(["rubber", "steel", "foam", "TPE", "neoprene"]),
        "weight_kg": r.choice([0.5, 1, 2, 4, 5, 8, 10, 12, 20]),
        "foldable": r.random() < 0.4,
    }


def _garden(r: random.Random) -> dict[str, Any]:
    return {
        "colour": r.choice(["green", "black", "grey", "red", "yellow"]),
        "power_source": r.choice(["manual", "battery", "corded electric"]),
        "battery_life_h": r.choice([0, 1, 2, 3]),
        "material": r.choice(["steel", "aluminium", "plastic", "ash wood"]),
        "weight_g": r.randrange(300, 6000, 100),
    }


def _pets(r: random.Random) -> dict[str, Any]:
    return {
        "colour": r.choice(COLOURS),
        "pet": r.choice(["dog", "cat", "rabbit", "bird"]),
        "size": r.choice(SIZES[1:]),
        "material": r.choice(["nylon", "rubber", "cotton", "plush", "plastic"]),
        "machine_washable": r.random() < 0.5,
    }


CATEGORIES: list[Category] = [
    Category("outerwear", "Apparel > Outerwear", ["Rain Jacket", "Softshell Jacket", "Parka", "Windbreaker",
             "Puffer Jacket", "Fleece"], ["Northpeak", "Fjellwear", "Stormline", "Urbana"], (39.0, 320.0), _apparel,
             ["hiking in wet weather", "the daily commute", "city walks in autumn", "weekend camping trips"]),
    Category("footwear", "Apparel > Footwear", ["Hiking Boots", "Running Shoes", "Trail Runners", "Sneakers",
             "Chelsea Boots", "Sandals"], ["Trekker", "Stride", "Pacefield", "Lumo"], (29.0, 240.0), _shoes,
             ["long days on rocky trails", "road running", "everyday wear", "light hikes"]),
    Category("bags", "Bags > Backpacks", ["Backpack", "Daypack", "Travel Pack", "Messenger Bag", "Duffel Bag",
             "Rolltop Backpack"], ["Carryall", "Packwise", "Northpeak", "Voyager"], (19.0, 210.0), _bags,
             ["carrying a laptop to work", "weekend getaways", "cabin-size air travel", "school and campus"]),
    Category("audio", "Electronics > Audio", ["Wireless Earbuds", "Over-Ear Headphones", "Bluetooth Speaker",
             "Sport Earphones", "Soundbar"], ["Sonix", "Auralab", "Beatform", "Quietwave"], (19.0, 399.0), _audio,
             ["long flights", "workouts", "focused work in open offices", "parties at home"]),
    Category("phones", "Electronics > Smartphones", ["Smartphone"], ["Nexa", "Orbit", "Pixelon", "Kairo"],
             (149.0, 1199.0), _phones, ["photography on the go", "gaming", "business travel", "everyday use"]),
    Category("laptops", "Electronics > Laptops", ["Laptop", "Ultrabook", "2-in-1 Laptop", "Chromebook"],
             ["Nexa", "Compute", "Lumina", "Vertex"], (299.0, 2299.0), _laptops,
             ["students", "video editing", "office work", "programming on the move"]),
    Category("wearables", "Electronics > Wearables", ["Smartwatch", "Fitness Tracker", "GPS Sports Watch"],
             ["Pulse", "Tempo", "Orbit", "Summit"], (29.0, 549.0), _watches,
             ["marathon training", "sleep tracking", "swimming", "staying on top of notifications"]),
    Category("kitchen", "Home > Kitchen Appliances", ["Kettle", "Blender", "Coffee Maker", "Toaster",
             "Air Fryer", "Stand Mixer"], ["Kitchenly", "Brewhaus", "Cucina", "Morning"], (19.0, 499.0), _kitchen,
             ["busy mornings", "batch cooking", "small kitchens", "family breakfasts"]),
    Category("furniture", "Home > Furniture", ["Office Chair", "Standing Desk", "Bookshelf", "Coffee Table",
             "Dining Chair", "Sideboard"], ["Woodform", "Nordhem", "Linea", "Oakridge"], (49.0, 899.0), _furniture,
             ["home offices", "small flats", "living rooms", "reading corners"]),
    Category("lighting", "Home > Lighting", ["Desk Lamp", "Floor Lamp", "Pendant Light", "Wall Light",
             "Bedside Lamp"], ["Lumo", "Nordhem", "Brightline", "Glowe"], (14.0, 259.0), _lighting,
             ["late-night reading", "home offices", "cosy living rooms", "bedrooms"]),
    Category("bedding", "Home > Bedding", ["Duvet Cover Set", "Fitted Sheet", "Pillow", "Duvet", "Throw Blanket"],
             ["Dreamwell", "Linenhouse", "Nordhem", "Softly"], (15.0, 229.0), _bedding,
             ["warm summer nights", "guest rooms", "allergy sufferers", "winter"]),
    Category("cookware", "Home > Cookware", ["Frying Pan", "Saucepan", "Casserole Dish", "Wok", "Stock Pot"],
             ["Cucina", "Ironclad", "Kitchenly", "Chefline"], (15.0, 289.0), _cookware,
             ["searing steaks", "slow-cooked stews", "quick stir-fries", "everyday cooking"]),
    Category("toys", "Kids > Toys", ["Puzzle", "Building Set", "Wooden Train Set", "Plush Toy", "Board Game",
             "Remote Control Car"], ["Playmoor", "Tinkerly", "Brickwise", "Little Oak"], (7.0, 149.0), _toys,
             ["rainy afternoons", "birthday presents", "family game nights", "learning through play"]),
    Category("beauty", "Beauty > Skincare", ["Moisturiser", "Cleanser", "Serum", "Sunscreen", "Face Mask",
             "Body Lotion"], ["Purely", "Dermaleaf", "Glowe", "Botanica"], (6.0, 89.0), _beauty,
             ["daily routines", "sensitive skin", "after-sun care", "travel bags"]),
    Category("fitness", "Sports > Fitness", ["Yoga Mat", "Dumbbell Set", "Kettlebell", "Resistance Bands",
             "Exercise Bike", "Foam Roller"], ["Tempo", "Ironclad", "Flexa", "Summit"], (9.0, 699.0), _fitness,
             ["home workouts", "yoga classes", "strength training", "recovery days"]),
    Category("garden", "Garden > Tools", ["Hedge Trimmer", "Lawn Mower", "Pruning Shears", "Leaf Blower",
             "Garden Spade", "Hose Reel"], ["Greenthumb", "Yardly", "Rootwise", "Stormline"], (9.0, 549.0), _garden,
             ["small city gardens", "large lawns", "autumn clean-ups", "allotments"]),
    Category("pets", "Pets > Supplies", ["Dog Bed", "Cat Scratcher", "Pet Carrier", "Dog Harness", "Chew Toy",
             "Cat Tree"], ["Pawsome", "Furrow", "Tailwind", "Whiskerly"], (5.0, 189.0), _pets,
             ["anxious pets", "long car journeys", "puppies", "indoor cats"]),
]
