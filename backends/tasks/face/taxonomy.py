"""The face attribute taxonomy of UniF2ace's dataset (UniF2aceD-1M, arXiv 2503.08120, read off its dataset figure),
plus the attributes this studio measures, as picker items, bilingual prompt phrases, yes/no check questions and Q&A
question presets. Torch-free data and two small functions (``check_attributes``, ``build_prompt``).

UniF2ace's taxonomy: Appearance (hair: colour, length, type, hairline, bangs, bald; beard: beard, 5 o'clock shadow,
sideburns, mustache; accessories: jewellery, hat, glasses, mask; skin: colour, texture; others: lipstick, face
shape), Action (smile, glare, laugh) and Emotion (neutral, happy, surprised). Measured here from the face mesh:
smile and laugh (geometric), eyes, mouth, head pose and gaze; everything else is checked by a vision-language model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from backends.core.errors import InvalidInput
from backends.core.text import check_prompt

MAX_ATTRIBUTES = 12


@dataclass(frozen=True)
class Attribute:
    """One pickable attribute value.

    Attributes:
        id: ``"<group>.<value>"``, e.g. ``"hair_color.black"``.
        category: UniF2ace category (``hair``, ``beard``, ``accessories``, ``skin``, ``others``, ``action``,
            ``emotion``) or ``measured`` for the studio's geometric extras.
        en: English label (also the prompt phrase).
        zh: Chinese label (also the prompt phrase).
        measure: the measured check deciding it (see ``backends.tasks.face.check``), or None: a VLM yes/no check.
    """

    id: str
    category: str
    en: str
    zh: str
    measure: str | None = None

    @property
    def group(self) -> str:
        """Values of one group exclude each other (one hair colour per face)."""
        return self.id.split(".")[0]

    def question(self, language: str = "en") -> str:
        """The yes/no question a vision-language model checks it with."""
        return f"Does this face show {self.en}?" if language == "en" else f"这张脸是否{self.zh}？"


def _a(id: str, category: str, en: str, zh: str, measure: str | None = None) -> Attribute:
    return Attribute(id, category, en, zh, measure)


ATTRIBUTES: tuple[Attribute, ...] = (
    # Appearance: hair
    _a("hair_color.black", "hair", "black hair", "黑色头发"),
    _a("hair_color.brown", "hair", "brown hair", "棕色头发"),
    _a("hair_color.blond", "hair", "blond hair", "金色头发"),
    _a("hair_color.red", "hair", "red hair", "红色头发"),
    _a("hair_color.grey", "hair", "grey hair", "灰白头发"),
    _a("hair_length.short", "hair", "short hair", "短发"),
    _a("hair_length.medium", "hair", "shoulder-length hair", "齐肩发"),
    _a("hair_length.long", "hair", "long hair", "长发"),
    _a("hair_type.straight", "hair", "straight hair", "直发"),
    _a("hair_type.wavy", "hair", "wavy hair", "波浪发"),
    _a("hair_type.curly", "hair", "curly hair", "卷发"),
    _a("hairline.receding", "hair", "a receding hairline", "发际线后移"),
    _a("bangs.yes", "hair", "bangs", "刘海"),
    _a("bald.yes", "hair", "a bald head", "光头"),
    # Appearance: beard
    _a("beard.full", "beard", "a full beard", "络腮胡"),
    _a("stubble.yes", "beard", "five o'clock shadow stubble", "胡茬"),
    _a("sideburns.yes", "beard", "sideburns", "鬓角"),
    _a("mustache.yes", "beard", "a mustache", "小胡子"),
    # Appearance: accessories
    _a("jewelry.yes", "accessories", "earrings or other jewellery", "耳环等首饰"),
    _a("hat.yes", "accessories", "a hat", "戴帽子"),
    _a("glasses.yes", "accessories", "eyeglasses", "戴眼镜"),
    _a("mask.yes", "accessories", "a face mask", "戴口罩"),
    # Appearance: skin
    _a("skin_color.fair", "skin", "fair skin", "白皙的皮肤"),
    _a("skin_color.tan", "skin", "tan skin", "小麦色皮肤"),
    _a("skin_color.dark", "skin", "dark skin", "深色皮肤"),
    _a("skin_texture.smooth", "skin", "smooth skin", "光滑的皮肤"),
    _a("skin_texture.wrinkled", "skin", "wrinkles", "皱纹"),
    _a("skin_texture.freckled", "skin", "freckles", "雀斑"),
    # Appearance: others
    _a("lipstick.yes", "others", "red lipstick", "红色口红"),
    _a("face_shape.oval", "others", "an oval face", "鹅蛋脸"),
    _a("face_shape.round", "others", "a round face", "圆脸"),
    _a("face_shape.square", "others", "a square jaw", "方脸"),
    _a("face_shape.long", "others", "a long face", "长脸"),
    # Action (smile and laugh measured geometrically)
    _a("action.smile", "action", "a smile", "微笑", "smile"),
    _a("action.laugh", "action", "laughing with an open mouth", "张嘴大笑", "laugh"),
    _a("action.glare", "action", "a glaring stare", "怒视"),
    # Emotion
    _a("emotion.neutral", "emotion", "a neutral expression", "平静的表情"),
    _a("emotion.happy", "emotion", "a happy expression", "开心的表情"),
    _a("emotion.surprised", "emotion", "a surprised expression", "惊讶的表情"),
    # Measured extras: head pose, eyes, mouth, gaze
    _a("pose.frontal", "measured", "a frontal view facing the camera", "正脸朝向镜头", "frontal"),
    _a("pose.three_quarter", "measured", "a three-quarter view", "四分之三侧脸", "three_quarter"),
    _a("pose.profile", "measured", "a side profile view", "侧脸", "profile"),
    _a("pitch.up", "measured", "the head raised, looking up", "抬头向上看", "looking_up"),
    _a("pitch.down", "measured", "the head lowered, looking down", "低头向下看", "looking_down"),
    _a("tilt.yes", "measured", "the head tilted to one side", "头歪向一侧", "tilted"),
    _a("eyes.open", "measured", "open eyes", "睁着眼睛", "eyes_open"),
    _a("eyes.closed", "measured", "closed eyes", "闭着眼睛", "eyes_closed"),
    _a("mouth.open", "measured", "an open mouth", "张着嘴", "mouth_open"),
    _a("mouth.closed", "measured", "a closed mouth", "闭着嘴", "mouth_closed"),
    _a("gaze.camera", "measured", "eyes looking at the camera", "眼睛看着镜头", "gaze_camera"),
    _a("gaze.away", "measured", "eyes looking away from the camera", "目光看向别处", "gaze_away"),
)
BY_ID: Mapping[str, Attribute] = MappingProxyType({a.id: a for a in ATTRIBUTES})
CATEGORIES = ("hair", "beard", "accessories", "skin", "others", "action", "emotion", "measured")
CATEGORY_NAMES: Mapping[str, tuple[str, str]] = MappingProxyType({
    "hair": ("Hair", "头发"), "beard": ("Beard", "胡须"), "accessories": ("Accessories", "配饰"),
    "skin": ("Skin", "皮肤"), "others": ("Others", "其他"), "action": ("Action", "动作"),
    "emotion": ("Emotion", "情绪"), "measured": ("Pose, eyes, mouth, gaze (measured)", "姿态、眼、嘴、视线（测量）"),
})
SUBJECTS: Mapping[str, tuple[str, str]] = MappingProxyType({
    "person": ("person", "人"), "woman": ("woman", "女性"), "man": ("man", "男性"),
    "young": ("young adult", "年轻人"), "elderly": ("elderly person", "老人"),
})

#: Q&A presets following the taxonomy: (topic, English question, Chinese question). Topics marked measured in
#: ``MEASURED_TOPICS`` are answered from the measurements too.
QUESTIONS: tuple[tuple[str, str, str], ...] = (
    ("hair_color", "What colour is the person's hair?", "这个人的头发是什么颜色？"),
    ("hair_length", "How long is the hair?", "头发有多长？"),
    ("hair_type", "Is the hair straight, wavy or curly?", "头发是直发、波浪发还是卷发？"),
    ("hairline", "Is the hairline receding?", "发际线是否后移？"),
    ("bangs", "Does the person have bangs?", "这个人有刘海吗？"),
    ("bald", "Is the person bald?", "这个人是光头吗？"),
    ("beard", "Does the person have a beard?", "这个人有胡子吗？"),
    ("stubble", "Is there stubble (a five o'clock shadow)?", "脸上有胡茬吗？"),
    ("sideburns", "Does the person have sideburns?", "这个人有鬓角吗？"),
    ("mustache", "Does the person have a mustache?", "这个人有小胡子吗？"),
    ("jewelry", "Is the person wearing jewellery?", "这个人戴着首饰吗？"),
    ("hat", "Is the person wearing a hat?", "这个人戴着帽子吗？"),
    ("glasses", "Is the person wearing glasses?", "这个人戴着眼镜吗？"),
    ("mask", "Is the person wearing a mask?", "这个人戴着口罩吗？"),
    ("skin_color", "What is the skin colour?", "皮肤是什么颜色？"),
    ("skin_texture", "What does the skin texture look like?", "皮肤质感如何？"),
    ("lipstick", "Is the person wearing lipstick?", "这个人涂了口红吗？"),
    ("face_shape", "What shape is the face?", "这是什么脸型？"),
    ("smile", "Is the person smiling?", "这个人在笑吗？"),
    ("laugh", "Is the person laughing?", "这个人在大笑吗？"),
    ("glare", "Is the person glaring?", "这个人在怒视吗？"),
    ("emotion", "Which emotion does the face show: neutral, happy or surprised?",
     "这张脸是什么情绪：平静、开心还是惊讶？"),
    ("eyes", "Are the eyes open?", "眼睛是睁开的吗？"),
    ("mouth", "Is the mouth open?", "嘴巴张开了吗？"),
    ("pose", "Which way is the head turned?", "头转向哪个方向？"),
    ("gaze", "Is the person looking at the camera?", "这个人在看镜头吗？"),
    ("count", "How many faces are in the image?", "图中有几张脸？"),
)
MEASURED_TOPICS = frozenset({"smile", "laugh", "eyes", "mouth", "pose", "gaze", "count"})


def check_attributes(ids: Any, field: str = "attributes") -> list[Attribute]:
    """Validate a pick of attribute ids: known, at most ``MAX_ATTRIBUTES``, one value per group.

    Raises:
        InvalidInput: naming ``field``, the value and the rule.
    """
    if isinstance(ids, str):
        ids = [part.strip() for part in ids.split(",") if part.strip()]
    if not isinstance(ids, list | tuple) or not ids:
        raise InvalidInput(field, "pick at least one attribute")
    if len(ids) > MAX_ATTRIBUTES:
        raise InvalidInput(field, f"{len(ids)} attributes picked; at most {MAX_ATTRIBUTES}")
    picked: list[Attribute] = []
    for value in ids:
        if value not in BY_ID:
            raise InvalidInput(field, f"unknown attribute {value!r}; known ones look like 'hair_color.black', "
                                      f"'glasses.yes', 'eyes.open' (see the taxonomy)")
        attribute = BY_ID[value]
        clash = next((p for p in picked if p.group == attribute.group), None)
        if clash is not None:
            raise InvalidInput(field, f"{clash.id} and {attribute.id} exclude each other (pick one "
                                      f"{attribute.group} value)")
        picked.append(attribute)
    return picked


def build_prompt(attributes: Iterable[Attribute], language: str = "en", subject: str = "person",
                 extra: str = "") -> str:
    """A text-to-image prompt asking for a face with ``attributes``.

    Args:
        attributes: the checked pick (``check_attributes``).
        language: ``en`` or ``zh``.
        subject: a key of ``SUBJECTS``.
        extra: free text appended (e.g. a UniF2ace caption).

    Raises:
        InvalidInput: unknown language or subject, or bad extra text.
    """
    if language not in ("en", "zh"):
        raise InvalidInput("language", f"{language!r} is not one of en, zh")
    if subject not in SUBJECTS:
        raise InvalidInput("subject", f"{subject!r} is not one of {', '.join(SUBJECTS)}")
    extra = check_prompt(extra, "extra", required=False)
    who_en, who_zh = SUBJECTS[subject]
    if language == "en":
        phrases = ", ".join(f"with {a.en}" for a in attributes)
        text = f"A close-up photo portrait of a {who_en}, {phrases}, natural light, sharp focus, high detail"
        return f"{text}. {extra}" if extra else text
    phrases = "，".join(a.zh for a in attributes)
    text = f"一张{who_zh}的特写肖像照片，{phrases}，自然光，对焦清晰，细节丰富"
    return f"{text}。{extra}" if extra else text
