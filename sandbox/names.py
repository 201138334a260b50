"""Name tables and transliteration schemes for the generated population."""

from __future__ import annotations

# (Cyrillic, diminutive) ; Latin spellings come from the transliteration schemes below,
# plus the usual English-passport forms in LATIN_EXTRA.
RU_MALE = [("Александр", "Саша"), ("Алексей", "Лёша"), ("Дмитрий", "Дима"), ("Сергей", "Серёжа"),
           ("Андрей", None), ("Михаил", "Миша"), ("Иван", "Ваня"), ("Николай", "Коля"), ("Юрий", "Юра"),
           ("Евгений", "Женя"), ("Максим", None), ("Артём", None), ("Владимир", "Володя"), ("Павел", "Паша"),
           ("Григорий", "Гриша"), ("Фёдор", "Федя"), ("Илья", None), ("Кирилл", None), ("Виктор", None)]
RU_FEMALE = [("Юлия", "Юля"), ("Екатерина", "Катя"), ("Анастасия", "Настя"), ("Мария", "Маша"),
             ("Ольга", "Оля"), ("Наталья", "Наташа"), ("Татьяна", "Таня"), ("Ксения", "Ксюша"),
             ("Елена", "Лена"), ("Анна", "Аня"), ("Ирина", "Ира"), ("Светлана", "Света"), ("Дарья", "Даша"),
             ("Алёна", None), ("Софья", "Соня"), ("Виктория", "Вика"), ("Людмила", "Люда")]
RU_SURNAMES = ["Иванов", "Петров", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов", "Новиков",
               "Морозов", "Волков", "Соловьёв", "Васильев", "Зайцев", "Павлов", "Семёнов", "Голубев",
               "Виноградов", "Богданов", "Воробьёв", "Фёдоров", "Михайлов", "Беляев", "Тарасов", "Белов",
               "Комаров", "Орлов", "Киселёв", "Макаров", "Андреев", "Ковалёв", "Ильин", "Гусев", "Титов",
               "Кузьмин", "Кудрявцев", "Баранов", "Куликов", "Алексеев", "Степанов", "Яковлев", "Сорокин",
               "Сергеев", "Романов", "Захаров", "Борисов", "Королёв", "Герасимов", "Пономарёв", "Григорьев",
               "Щербаков", "Жуков", "Юдин", "Цветков", "Хохлов", "Чернов", "Шубин", "Быстров"]
LATIN_EXTRA = {"Александр": ["Alexander", "Alex"], "Юлия": ["Julia"], "Екатерина": ["Catherine"],
               "Мария": ["Maria"], "Михаил": ["Mikhail", "Michael"], "Дмитрий": ["Dmitry"],
               "Евгений": ["Eugene"], "Елена": ["Elena", "Helen"], "Анна": ["Anna"], "Павел": ["Paul"]}

EN_MALE = [("William", "Bill"), ("Robert", "Bob"), ("James", "Jim"), ("John", "Johnny"), ("Michael", "Mike"),
           ("David", "Dave"), ("Richard", "Rick"), ("Thomas", "Tom"), ("Christopher", "Chris"),
           ("Daniel", "Dan"), ("Matthew", "Matt"), ("Anthony", "Tony"), ("Joseph", "Joe"), ("Steven", "Steve"),
           ("Andrew", "Andy"), ("Edward", "Ed"), ("Benjamin", "Ben"), ("Samuel", "Sam"), ("Peter", "Pete")]
EN_FEMALE = [("Elizabeth", "Liz"), ("Katherine", "Kate"), ("Jennifer", "Jen"), ("Margaret", "Maggie"),
             ("Patricia", "Pat"), ("Susan", "Sue"), ("Jessica", "Jess"), ("Rebecca", "Becky"),
             ("Victoria", "Vicky"), ("Abigail", "Abby"), ("Samantha", "Sam"), ("Emily", None),
             ("Olivia", None), ("Sarah", None), ("Laura", None), ("Amanda", "Mandy"), ("Deborah", "Debbie")]
EN_SURNAMES = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
               "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark",
               "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green", "Baker",
               "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Carter", "Phillips", "Evans",
               "Turner", "Parker", "Collins", "Edwards", "Stewart", "Morris", "Murphy", "Cook", "Rogers",
               "Morgan", "Cooper", "Peterson", "Reed", "Bailey", "Bell", "Kelly", "Howard", "Ward", "Cox"]

RU_CITIES = [("Москва", "Moscow"), ("Санкт-Петербург", "Saint Petersburg"), ("Казань", "Kazan"),
             ("Екатеринбург", "Yekaterinburg"), ("Новосибирск", "Novosibirsk"), ("Пермь", "Perm"),
             ("Самара", "Samara"), ("Нижний Новгород", "Nizhny Novgorod")]
RU_STREETS = ["ул. Ленина", "ул. Пушкина", "пр. Мира", "ул. Гагарина", "ул. Советская", "ул. Садовая",
              "Невский пр.", "ул. Лесная"]
US_CITIES = [("New York", "NY", "10001"), ("Austin", "TX", "73301"), ("Seattle", "WA", "98101"),
             ("Chicago", "IL", "60601"), ("Denver", "CO", "80201"), ("Boston", "MA", "02108"),
             ("Portland", "OR", "97201"), ("Miami", "FL", "33101")]
US_STREETS = ["Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Pine St", "Elm St", "Park Ave", "Lake Rd"]
COMPANY_WORDS_RU = ["Альфа", "Вектор", "Север", "Техно", "Строй", "Логистик", "Меридиан", "Гранит"]
COMPANY_WORDS_EN = ["Acme", "Northwind", "Bluebird", "Summit", "Pioneer", "Harbor", "Vertex", "Evergreen"]
PRODUCTS = [("Coffee grinder", 4900), ("Espresso beans 1 kg", 1890), ("Tea set", 3200), ("French press", 2500),
            ("Kettle", 5400), ("Milk frother", 3900), ("Mug", 690), ("Espresso machine", 38900),
            ("Gift card", 5000), ("Descaler", 790)]

# Transliteration schemes (lower case); letters not listed map the same in every scheme.
_BASE = {"а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
         "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
         "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y",
         "ь": "", "э": "e", "ю": "yu", "я": "ya"}
SCHEMES = {
    "bgn": dict(_BASE, ё="yo"),
    "icao": dict(_BASE, й="i", ю="iu", я="ia", ы="y", ь="", ё="e"),
    "informal": dict(_BASE, х="h", щ="sch", ю="ju", я="ja", й="j", ё="e", ь="", ц="c"),
    "popular": dict(_BASE, х="kh", ё="yo", ий="y", ь="", ю="yu", я="ya", ье="ie"),
}


def transliterate(text: str, scheme: str) -> str:
    table = SCHEMES[scheme]
    out, i = [], 0
    lower = text.lower()
    while i < len(text):
        pair = lower[i:i + 2]
        if pair in table:
            piece, step = table[pair], 2
        else:
            piece, step = table.get(lower[i], lower[i]), 1
        if text[i].isupper() and piece:
            piece = piece[0].upper() + piece[1:]
        out.append(piece)
        i += step
    return "".join(out)


def feminine(surname: str) -> str:
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    return surname
