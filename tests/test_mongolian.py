"""Folding and transliteration used by the directory's search."""
from registry.search.mongolian import fold, latin, loose_latin, words


def test_fold_handles_mongolian_specific_letters():
    assert fold("ӨРХИЙН ҮЙЛЧИЛГЭЭ Ёс") == "өрхийн үйлчилгээ ёс"


def test_fold_normalises_decomposed_forms():
    decomposed = "\u0415\u0308"  # Е + combining diaeresis
    assert fold(decomposed) == "ё"


def test_words_split_on_punctuation_and_keep_digits():
    assert words("Хан-Уул дүүргийн 3-р хороо") == ["хан", "уул", "дүүргийн", "3", "р", "хороо"]


def test_latin_transliteration_as_people_type_it():
    assert latin("Улаанбаатар") == "ulaanbaatar"
    assert latin("Сүхбаатар") == "suhbaatar"
    assert latin("Чингэлтэй") == "chingeltei"
    assert latin("Өгөөж") == "ogooj"


def test_loose_latin_meets_the_transliteration():
    assert loose_latin("Sukhbaatar") == latin("Сүхбаатар")
    assert loose_latin("Khan") == latin("Хан")
