"""Natural-language questions (Portuguese and English) → :class:`QueryModel`, offline.

A deterministic rule-based translator: the question is folded (lower case, accents removed,
character positions kept), then phrases are recognised and *consumed* longest first — plant names,
states, legacy-platform wording, fuels, periods (:mod:`.periods`), rankings, transforms, grouping,
shares, measures, subsystems, directions of interchange, aggregations — so a shorter word never
matches inside a longer phrase ("southeast" is Sudeste, never "south" = Sul; "Rio Grande do Sul"
is a state, not the Sul subsystem).

**Honesty.** Whatever content word is left over is reported as not understood (``unmapped``), as
are measures the data does not hold (PLD, prices), periods that cannot be read and numbers that
are not whole counts; the query service refuses such a question instead of answering a broader
one. Only filler words ("por favor", "please") are ignored, and said to be (``ignored``).

**Meaning.** "Qual foi a carga…" asks for one value (the mean over the period); "quanto … gerou /
exportou", "em MWh", "total" ask for an amount (the sum: hourly MWmed summed is MWh); a bare
measure ("carga do Sul em março") or "mostre …" asks for the series at the data's grain.
"Qual subsistema / usina / estado / fonte … maior" and "os N … com maior" rank (top-N). A grain
adjective next to an aggregate ("a carga mínima horária") says which values are aggregated, not
a grouping: one value, and for a maximum or minimum its time. Interchange verbs give a direction
(o Nordeste exportou para o Sudeste = the flow NE → SE; importou/recebeu reverse it; without a
partner, the subsystem's net interchange). A share names its denominator ("na carga" = load,
"na geração" = total generation) and is a ratio of sums over the period.

No period: the latest week of data (``latest``: table → last timestamp, from the query service),
said in ``assumptions``; relative periods ("ontem", "últimos 7 dias") use the injectable ``now``
in the configured zone (ONS data is Brasília time). :attr:`Translation.interpretation` states the
interpreted question in words (:mod:`.describe`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Protocol

from ons_pipeline.lib import schema
from ons_pipeline.lib.ons_time import ONS_TIMEZONE, to_ns
from ons_pipeline.lib.query import numbers, spelling
from ons_pipeline.lib.query import periods as P
from ons_pipeline.lib.query.describe import describe
from ons_pipeline.lib.query.model import (
    HOURS_A_DAY,
    SELECTORS,
    TOP_N_MAX,
    Agg,
    Aggregation,
    BinOp,
    Const,
    Duration,
    Expr,
    FilterOp,
    ModelError,
    OrderKey,
    Period,
    QueryModel,
    Selection,
    TagFilter,
    TimeRange,
    TopN,
    Transform,
    TransformKind,
    ValueFilter,
    WindowFilter,
    expr_unit,
    is_selector,
    leaves,
    zone_info,
)
from ons_pipeline.lib.query.text import Text, fold, rx

DEFAULT_PERIOD = timedelta(days=7)

STRUCTURAL_GAPS = frozenset({"measure", "period", "subsystem", "filter", "number", "combination"})
"""Kinds of :class:`Unmapped` that refuse a question even in lenient mode."""

LatestData = Callable[[str], datetime | None]
PLANT_TABLE, PLANT_TAG = "geracao_usina", "nom_usina"  # generation per plant, by plant name
# the plant names the data holds (``None`` when not known)
KnownPlants = Callable[[], Collection[str] | None]
"""Table name → the time of its latest data point (aware), or ``None`` when unknown."""

# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unmapped:
    """Something in the question the translator could not map: ``kind`` is ``measure``,
    ``period``, ``subsystem``, ``filter``, ``number``, ``combination`` or ``word``; with
    suggestions of what it may have meant."""

    kind: str
    text: str
    reason: str
    suggestions: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.kind} {self.text!r}: {self.reason}"


@dataclass(frozen=True)
class Translation:
    """The model (``None`` when no measure could be mapped), what was not understood, the
    defaults applied, the filler words ignored and the interpreted question in words."""

    question: str
    language: str
    model: QueryModel | None
    unmapped: tuple[Unmapped, ...] = ()
    assumptions: tuple[str, ...] = ()
    interpretation: str = ""
    ignored: tuple[str, ...] = ()
    days: str | None = None  # days of the week kept: "weekend", "weekday" or "0,6"
    read_as: str = ""  # a follow-up: the earlier question with the parts it named replaced

    @property
    def complete(self) -> bool:
        """A model was built and every part of the question was understood."""
        return self.model is not None and not self.unmapped


class Translator(Protocol):
    """Question → :class:`Translation`; an LLM backend can implement the same interface."""

    def translate(self, question: str, now: datetime | None = None) -> Translation: ...


# -- vocabulary -------------------------------------------------------------------------------

NUM = numbers.PATTERN
MONTHS = P.MONTHS

_SUBSYSTEMS: list[tuple[str, str]] = [
    (r"sudeste\s*(?:/|e|-)?\s*centro[\s-]*oeste", "SE"),
    (r"south[\s-]*east(?:ern)?\s*(?:/|and|-)?\s*(?:center|central|centre|mid)[\s-]*west"
     r"(?:ern)?", "SE"),
    (r"sudeste|centro[\s-]*oeste|south[\s-]*east(?:ern)?"
     r"|(?:center|central|centre|mid)[\s-]*west(?:ern)?", "SE"),
    (r"nordeste|north[\s-]*east(?:ern)?", "NE"),
    (r"sul|south(?:ern)?", "S"),
    (r"norte|north(?:ern)?", "N"),
    (r"sin|sistema\s+interligado(?:\s+nacional)?|brasil|brazil|nation[\s-]?wide|(?:o\s+)?pais|(?:the\s+)?country"
     r"|national\s+(?:grid|system)|(?:todo\s+o\s+)?sistema\s+(?:eletrico\s+)?nacional"
     # ONS's "o sistema" is the SIN ("carga do sistema"); isolated systems are not in it
     r"|(?:todo\s+o\s+)?sistema(?:\s+eletrico)?(?:\s+brasileiro)?(?!\s+isolad)"
     r"|(?:the\s+)?system(?:[\s-]+wide)?(?!\s+isolated)"
     r"|(?:the\s+)?(?:whole|entire)\s+(?:brazilian\s+)?(?:power\s+|electric(?:ity)?\s+)?(?:grid|system)"
     r"|(?:the\s+)?brazilian\s+(?:power\s+|electric(?:ity)?\s+)?(?:grid|system)|(?:the\s+)?(?:brazilian\s+|national\s+)?interconnected\s+(?:power\s+)?"
     r"(?:system|grid)|(?:somando|soma\s+d[eo]s?|summing(?:\s+up)?|sum\s+of|adding(?:\s+up)?)\s+"
     r"(?:todos\s+os\s+|all\s+(?:the\s+)?|the\s+|os\s+)?(?:quatro\s+|four\s+)?(?:subsistemas"
     r"|subsystems|regioes|regions)", "SIN"),
]  # fmt: skip
_SUBSYSTEM_RX = [(re.compile(r"\b(?:" + p + r")\b"), code) for p, code in _SUBSYSTEMS]
# "national demand", "carga nacional": the SIN, said beside its measure (read on the question
# as written: the measure's words are taken first), not the "Operador Nacional do Sistema"
_NATIONAL = re.compile(
    r"\bnational(?=\s+(?:electricity\s+|power\s+|energy\s+)?(?:demand|load|consumption"
    r"|generation)\b)|(?:(?<=\bcarga\s)|(?<=\bdemanda\s)|(?<=\bconsumo\s)|(?<=\bgeracao\s))"
    r"nacional\b"
)
# ONS's codes, SE/CO (Sudeste/Centro-Oeste) among them; joined by a hyphen or an arrow ("N-SE",
# "NE->SE") they name an interconnection
_SUBSYSTEM_CODES = re.compile(r"(?<![\w])(SE\s*[/-]\s*CO|SECO|SE|NE|SIN|S|N)(?![\w])")
# operators type the codes in lower case too ("cmo se agora", "carga ne ontem"): read only right
# after a measure and before a period or the end, as "se" is also Portuguese for "if"
_SUBSYSTEM_LOWER = re.compile(
    r"(?<![\w])(se|ne|sin|s|n)(?![\w])(?=\s*(?:$|[?.!,;]|\d|(?:hoje|hj|ontem|agora|now|today|yesterday"
    r"|em|no|na|nos|nas|in|on|last|ultim[oa]s?|e|and|semana|mes|ano|dia|trimestre|week|month"
    r"|year|day|quarter|desde|since|entre|between|durante|during)\b))"
)
# "se" opening a clause ("a carga média se ontem ficou abaixo de…") is "if", not Southeast
_IF_CLAUSE = re.compile(
    r"\b(?:ficou|ficar|ficaram|foi|for|forem|fosse|estiver|esteve|houver|houve|tiver|teve|passou"
    r"|passar|maior|menor|acima|abaixo|superou|superar|atingiu|atingir)\b"
)
_MEASURE_BEFORE = re.compile(
    r"\b(?:do|no|pro|ao|para\s+o|cmo|carga|load|ear|ena|geracao|generation|eolica|solar|termica"
    r"|hidraulica|wind|hydro|thermal|intercambio|interchange|media|medio|maxim[oa]|minim[oa]|max|min)\s+$"
)
SUBSYSTEM_NAMES = {
    "SE": "Sudeste/Centro-Oeste", "S": "Sul", "NE": "Nordeste", "N": "Norte", "SIN": "SIN",
}  # fmt: skip
# interconnections as ONS's intercâmbio nacional orients them (a positive value flows origin →
# destination): the other direction is the same series with its sign reversed
INTERCONNECTIONS = (("N", "NE"), ("N", "SE"), ("NE", "SE"), ("SE", "S"))
# the legacy platform's region names
LEGACY_REGIONS = {"N": "north", "NE": "northeast", "S": "south", "SE": "southeast"}

_STATES = {
    "acre": "AC", "alagoas": "AL", "amapa": "AP", "amazonas": "AM", "bahia": "BA", "ceara": "CE",
    "distrito federal": "DF", "espirito santo": "ES", "goias": "GO", "maranhao": "MA",
    "mato grosso do sul": "MS", "mato grosso": "MT", "minas gerais": "MG", "minas": "MG",
    "para": "PA",
    "paraiba": "PB", "parana": "PR", "pernambuco": "PE", "piaui": "PI", "rio de janeiro": "RJ",
    "rio grande do norte": "RN", "rio grande do sul": "RS", "rondonia": "RO", "roraima": "RR",
    "santa catarina": "SC", "sao paulo": "SP", "sergipe": "SE", "tocantins": "TO",
}  # fmt: skip

# codes that are also other things ("7-day MA", "6 AM", "TO", "GO"): only after "no", "do", "in"
_AMBIGUOUS_CODES = frozenset({"MA", "AM", "TO", "GO", "AL", "ES", "PI", "AP", "PE"})
_STATE_CODE = re.compile(
    r"(?<![\w/])(?<!\d\s)("
    + "|".join(sorted(code for code in _STATES.values() if code != "SE"))
    + r")(?![\w/])"
)
# plant type names as ONS writes them (nom_tipousina)
PLANT_TYPES = {
    "hydro": "HIDROELÉTRICA",
    "thermal": "TÉRMICA",
    "wind": "EOLIELÉTRICA",
    "solar": "FOTOVOLTAICA",
    "nuclear": "NUCLEAR",
}
# fuel names as ONS writes them (nom_tipocombustivel)
_FUELS: list[tuple[str, str]] = [
    (r"gas\s+natural|natural\s+gas|gas", "Gás"),
    (r"carvao(?:\s+mineral)?|coal", "Carvão"),
    (r"oleo\s+combustivel|fuel\s+oil", "Óleo Combustível"),
    (r"(?:oleo\s+)?diesel", "Óleo Diesel"),
    (r"biomassa|biomass|bagaco(?:\s+de\s+cana)?", "Biomassa"),
    (r"residuos\s+industriais|industrial\s+waste", "Resíduos Industriais"),
]
_FUEL_RX = [
    (
        rx(
            r"\b(?:(?:movidas?\s+a|a|de|(?:fuel|combustivel)\s*(?:is|=|e)?)\s+)?(?:"
            + p
            + r")(?:[\s-]+fired)?\b"
        ),
        name,
    )
    for p, name in _FUELS
]

SOURCES = ("hydro", "thermal", "wind", "solar")
BALANCO_FIELD = {
    "hydro": "val_gerhidraulica",
    "thermal": "val_gertermica",
    "wind": "val_gereolica",
    "solar": "val_gersolar",
    "load": "val_carga",
    "interchange": "val_intercambio",
}

_GEN = r"(?:geracao|gerac(?:ao|oes)|producao|generation|output|production|energia|energy|power)"
_OF = r"(?:\s+(?:de|da|do|das|dos|of|from))?"

# (pattern, measure key); longest and most specific first
_MEASURES: list[tuple[str, str]] = [
    (r"(?:pld|preco\s+de\s+liquidacao(?:\s+das\s+diferencas)?|settlement\s+price|spot\s+price"
     r"|preco(?:s)?(?:\s+da\s+energia)?|prices?(?:\s+of\s+energy)?|tarifa|tariff)",
     "unsupported:price"),
    (r"(?:energia\s+natural\s+afluente|ena|natural\s+inflow(?:\s+energy)?|inflow\s+energy"
     r"|afluencias?|inflows?)\s+armazenave(?:l|is)", "ena_storable"),
    (r"(?:ena|energia\s+natural\s+afluente)\s+armazenavel|storable\s+(?:natural\s+)?inflow"
     r"(?:\s+energy)?|storable\s+ena|(?:ena|natural\s+inflow(?:\s+energy)?)\s+storable",
     "ena_storable"),
    (r"energia\s+natural\s+afluente|ena(?:\s+bruta)?|natural\s+inflow(?:\s+energy)?"
     r"|inflow\s+energy|afluencias?|inflows?(?:\s+to\s+(?:the\s+)?hydro\s+plants)?", "ena"),
    (r"(?:capacidade\s+max(?:ima|\.)?\s+de\s+armazenamento|ear\s+maxim[ao]|armazenamento\s+maximo"
     r"|energia\s+armazenave(?:l|is)\s+maxima|maximum\s+storage\s+capacity|storage\s+capacity"
     r"|(?:max(?:imum)?\s+)?(?:ear|reservoir)\s+capacity|capacidade(?:\s+maxima)?\s+(?:de\s+"
     r"armazenamento|d[oe]s?\s+reservatorios?|de\s+ear)(?:\s+maxima)?)"
     r"(?:\s*\(?\s*(?:capacidade|capacity)\b\s*\)?)?", "ear_max"),
    (r"energia\s+armazenada(?:\s+verificada)?|\bear\b|armazenamento"
     # "Brazil's hydro reservoirs", "reservatórios das hidrelétricas": the reservoirs, not
     # hydro generation
     r"|(?:nivel\s+d[oe]s\s+)?reservatorios?"
     # "reservatório equivalente": ONS's name for a subsystem's reservoirs as one
     r"(?:\s+(?:hidreletricos|hidricos|equivalentes?|das\s+(?:usinas\s+)?hidreletricas))?"
     r"|equivalent\s+reservoirs?"
     r"|stored\s+energy|(?:hydro(?:electric|power)?\s+)?reservoir\s+(?:level|storage)s?"
     r"|(?:hydro(?:electric|power)?\s+)?reservoirs?|storage",
     "ear"),
    (r"custo\s+marginal(?:\s+de\s+operacao)?|\bcmo\b|marginal\s+(?:operating\s+|operation\s+)?cost"
     r"(?:\s+of\s+operation)?",
     "cmo"),
    (r"intercambio\s+programado|programmed\s+interchange|scheduled\s+(?:interchange|exchange)"
     r"|intercambio\s+previsto", "interchange_scheduled"),
    (r"intercambios?(?:\s+(?:de\s+energia|liquido|verificado))*|(?:net\s+)?(?:energy\s+)?"
     r"interchanges?|(?:net\s+)?(?:power\s+)?exchanges?|troca(?:s)?\s+de\s+energia"
     r"|energy\s+transfers?|fluxo\s+(?:medio\s+)?de\s+energia|fluxo|power\s+flow|flowed|flowing"
     # "quanto tá passando do Sul pro Sudeste?": what flows from one to the other
     r"|(?:passando|fluindo|(?:(?<=quanto\s)|(?<=que\s)|(?<=quanta\s))(?:passou|fluiu))"
     r"(?=\s+d[oa]s?\s+[\w/-]+\s+(?:para|pro|pra|ao|a)\b)"
     r"|flows?|(?:net\s+)?(?:export|import)s?\s*/\s*(?:import|export)s?"
     r"|(?:exportacao|importacao)\s*/\s*(?:importacao|exportacao)"
     # ONS's "saldo (de intercâmbio)": what a subsystem exported less what it imported
     r"|saldos?",
     "interchange"),
    (_GEN + _OF + r"\s+(?:hidraulica|hidreletrica|hidroeletrica|hidro)s?"
     r"|(?:hidraulica|hidreletrica|hidroeletrica|hidro)s?|hydro(?:electric|power)?(?:\s+" + _GEN
     + r")?|usinas\s+hidreletricas", "hydro"),
    (_GEN + _OF + r"\s+(?:termica|termeletrica|termoeletrica)s?|(?:termica|termeletrica"
     r"|termoeletrica)s?|thermal(?:\s+" + _GEN + r")?|thermoelectric(?:\s+" + _GEN + r")?",
     "thermal"),
    (_GEN + _OF + r"\s+eolica|eolicas?|eolico|wind(?:\s+(?:power|farms?|energy))?(?:\s+" + _GEN
     # "o vento rende mais", "o vento gerou": the wind's generation, said as people say it
     + r")?|(?:o\s+)?vento\s+(?:rende|rendeu|rendem|gera|gerou|produz|produziu)", "wind"),
    (_GEN + _OF + r"\s+(?:solar|fotovoltaica)|solar(?:es)?(?:\s+" + _GEN + r")?|fotovoltaicas?"
     r"|photovoltaic(?:\s+" + _GEN + r")?|\bpv\b", "solar"),
    (r"nuclear(?:es)?(?:\s+" + _GEN + r")?", "nuclear"),
    (r"(?:curva\s+de\s+)?carga(?:\s+de\s+energia)?|demanda(?:\s+de\s+energia)?|consumo(?:\s+de\s+energia)?"
     r"|(?:electricity\s+|power\s+|energy\s+)?(?:load|demand|consumption)"
     r"|(?:electricity|energy|power)\s+use"
     # "how much electricity did Brazil use yesterday?": the load, its verb after the subject
     r"|electricity(?=\s+(?:did|does|do)\s+[\w\s']{1,40}?\s+(?:use|consume)\b(?!\s+from))"
     r"|consum(?:iu|iram|ida|ido)|consumed|consumes?|consuming", "load"),
    (r"(?:geracao|producao)\s+total|total\s+(?:de\s+)?(?:geracao|generation|production)",
     "generation_total"),
    (r"energia\s+(?:gerada|produzida)|(?:energy|power|electricity)\s+(?:generated|produced)"
     r"|\b(?:geracao|geracoes|generation|gerou|geraram|gerada|gerado|gerando|generated|produced|produziu"
     r"|produzindo|generate|generating|produce|output|production|producao"
     r"|ran|dispatched|despachou|despacharam|operou|operaram|churn(?:ed)?\s+out|put\s+out)\b",
     "generation"),
]  # fmt: skip
_MEASURES_RX = [(rx(r"\b(?:" + p + r")\b"), k) for p, k in _MEASURES]
# a qualifier alone after another ENA ("ENA armazenável vs bruta", "storable vs gross"): that ENA
_GROSS = rx(r"\b(?:bruta|gross|raw)\b")
_STORABLE = rx(
    r"\b(?:stored|storable)(?:[\s-]+inflows?)?(?=[\s-]+(?:\w+\s+)?ena\b)"
    r"|(?<=\()\s*armazenavel(?=\s*\))"
)
_ENA_QUALIFIER = rx(
    r"(?<=\s)(?:vs\.?|versus|x|e|and|com|with|contra|against)\s+(?:a\s+|the\s+)?"
    r"(?P<q>bruta|gross|armazenavel|storable)\b"
)
# ONS's "balanço de energia" of a subsystem: its load, generation by source and interchange
_BALANCE = rx(
    r"\b(?:balanco(?:\s+(?:de\s+energia|energetico))?|energy\s+balance|power\s+balance)\b"
)

_PLANT_WORD = (
    r"(?:usinas?|plants?|power\s+plants?|power\s+stations?|geradoras?|uhe|ute|ufv|eol"
    r"|parques?\s+(?:eolicos?|solares?)|(?:wind|solar)\s+(?:farms?|parks?|complex(?:es)?)|complexos?\s+eolicos?)"
)

_STOPWORDS = set(
    """
    qual quais foi foram e é era o a os as de do da dos das no na nos nas em para pra pro pelo
    pela pelos pelas um uma uns umas me mostre mostrar mostra exiba exibir liste listar lista
    quero queria ver saber valor valores dados sobre com como quanto quanta quantos quantas se
    que ao aos durante nesse neste nessa nesta esse este essa esta ser estava tem teve tinha
    tiveram houve registrado registrada registrados registradas registrou registraram
    verificado verificada verificados verified actual observado observada inteiro inteira whole
    entire nivel niveis serie historico informe evolucao evolution
    informar diga dizer traga trazer gere gerar calcule calcular obter obtenha buscar busque
    retorne retornar eh ela ele elas eles isso isto ficou ficaram variou variaram cada
    evoluiu evoluiram oscilou oscilaram
    regiao regioes subsistema subsistemas sistema eletrico energia mw mwmed mwh medios medias
    what which how much many show me give list get tell value values level levels the of in on
    for to and at is was were are be been did does do there by with from into onto towards a an
    per over during within data series history time its their all it they had has have
    registered recorded see display energy power that who mostre-me diga-me informe-me
    traga-me show-me tell-me net liquido liquida liquidos liquidas
    região regiões subsistema elétrico
    fala entre between from existe existem exist exists there electricity
    eletricidade eletrica energetica region regions subsystem subsystems
    what's how's where's when's it's that's there's vary varied evolve evolved where
    preciso precisava precisamos quero queria gostaria poderia poderiam pode podes consegue
    responde responda responder diz passa passe manda mande calcula compute calculate provide
    report need want would could can you i we please kindly determine find fetch
    aconteceu aconteceram comportou comportaram observed seen located situated according
    respectivos respectivas respectivo respectiva
    inclusive inclusivo both ambos ambas calendar came comes coming gross periodo
    period submarket submarkets submercado submercados deu reported across resample ta tá tao
    tão estao estão esta está i.e e.g summarise summarize atendimento region's completeness check
    single dado atingiu atingiram alcancou alcançou reached gone saw see answer responda
    go goes went reach reaches representou representa represents represented accounted
    anything algo use typically usually normally tipicamente normalmente geralmente costuma
    proprio propria own looking am i'm temos voce voces sit sits sat stay stays stayed
    costumam ocorreu ocorreram occurred happened veio vieram solicito solicita solicitamos
    solicitar referente referentes
    disponivel disponiveis available expresso expressa expressos expressas expressed tambem
    sendo montante figure figures figura hit hits inteiro inteira inteiros inteiras whole entire
    muito muita
    considerando considering pega pegue pegando tava tavam grid so somente apenas only
    complexo complex
    """.split()  # noqa: SIM905
)
_AGG_WORD = r"(?:media|average|mean|maxim[oa]|maximum|max|minim[oa]|minimum|min|soma|sum|total)"
# "up or down and by how much?": the change between two periods, its sign says it
_UP_OR_DOWN = rx(
    r"\b(?:(?:went|go|was\s+it|is\s+it)\s+)?up\s+or\s+down\b"
    r"|\b(?:subiu|aumentou|cresceu)\s+ou\s+(?:desceu|caiu|diminuiu)\b"
)
# words of a stock (stored energy): its change over one period can be asked "up or down"
_STOCK_WORD = rx(r"\b(?:ear|armazen\w*|storage|stored|reservat\w*|reservoirs?)\b")
# "na semana passada toda", "no Brasil todo": the whole of what is named (no condition: "acima
# de 200 o mês todo?" asks "throughout")
_WHOLE = rx(r"(?<=\s)tod[oa](?=\s*[?.!,]|\s*$)")
# "change over January? first day vs last day": how a stock's change is taken
_FIRST_VS_LAST = rx(
    r"\b(?:the\s+)?first\s+day\s+(?:vs\.?|versus|to|and)\s+(?:the\s+)?last\s+day\b"
    r"|\b(?:o\s+)?primeiro\s+dia\s+(?:vs\.?|x|e|versus|contra)\s+(?:o\s+)?ultimo\s+dia\b"
)
# politeness and hedges: ignored, and said to be
_FILLER = rx(
    r"\b(?:segundo\s+(?:o|a|os|as)(?=\s)|por\s+favor|please|kindly|aproximadamente|approximately|roughly|exatamente|exactly"
    r"|at\s+any\s+(?:point|time|moment)|em\s+algum\s+momento|obrigad[oa]|thanks"
    # a greeting heading the message ("Morning.", "bom dia,"), never a period asked
    r"|(?:(?<=^)|(?<=^\W))(?:good\s+)?(?:morning|afternoon|evening)(?=\s*[.!,])"
    r"|(?:(?<=^)|(?<=^\W))(?:bom\s+dia|boa\s+(?:tarde|noite))(?=\s*[.!,])"
    r"|prezad[oa]s?(?:\s+senhor(?:es|as)?)?|dear\s+(?:sirs?|madam|team|all|colleagues)"
    r"|(?:ok(?:ay)?|alright|all\s+right)\s+then"
    # "each hour 0-23", "(00 to 23)": every hour of the day, as an hourly profile lists them
    r"|(?<![\d:])0?0h\s*(?:-|–|a|to|ate)\s*23h(?![\w:])"
    r"|(?:(?<=hour\s)|(?<=hours\s)|(?<=hora\s)|(?<=horas\s)|(?<=day\s\()|(?<=dia\s\())\(?0?0\s*(?:-|–|a|to|ate)\s*23"
    r"\)?(?![\w:]|\s*(?:mw|gw|r\$|%))"
    # "em energia mesmo": "really", never "the same" (that names a period or thing after it)
    r"|(?<=[a-z]\s)mesmo(?=\s*[,?.!])"
    # closing the conversation or qualifying the source away: "para fechar:", "qualquer fonte"
    r"|(?:para|pra)\s+fechar|to\s+wrap\s+up|por\s+fim|por\s+ultimo"
    r"|(?:de\s+)?qualquer\s+fonte|(?:of\s+)?any\s+source"
    # hedges and framing: "praticamente parada", "what did it look like", "qual deles tem"
    r"|praticamente|basicamente|practically|virtually|basically"
    r"|(?<=\s)look(?:ed|s)?\s+like|(?<=qual\s)(?:deles|delas)|(?<=which\s)of\s+them"
    r"|(?:chegou|chegaram)(?=\s+(?:n?o|a|ao)\s+(?:seu\s+)?(?:minimo|maximo|pico|menor|maior)\b)"
    # chat interjections and turn-taking ("mano", "eita kkkk", "tá bom então", "outra coisa")
    r"|(?<=^)mano(?=\s)|k{3,}|(?:ha){2,}h?|ok\s+so"
    r"|(?:(?<=^)|(?<=[.!?]\s))(?:opa|beleza|blz|entao)(?=\s*[,.!]|\s)"
    # "please send the SE load", "me envia a carga": a request for the data, never an export
    r"|(?:(?<=^)|(?<=please\s)|(?<=pls\s)|(?<=,\s)|(?<=\bme\s))(?:send|envie|envia|manda|mande)"
    r"(?=\s+(?:(?:me|us|pra\s+mim)\s+)?(?:the|a|o|os|as)\s)"
    # "is it going down each year?": the values of each year show it
    r"|(?:(?:is|are)\s+(?:it\s+|they\s+)?)?(?:going|trending)\s+(?:down|up)"
    r"(?=\s+(?:each|every|per|a\s+cada|todo)\s+(?:year|month|ano|mes))"
    r"|(?:esta|vem|tem)\s+(?:caindo|subindo|aumentando|diminuindo)"
    r"(?=\s+(?:a\s+cada|todo|por|cada)\s+(?:ano|mes))"
    # "now the same hourly profile but for net load": what the answer before was, named again
    r"|(?:(?<=^)|(?<=[.!?,]\s)|(?<=[.!?,]))\s*now(?=\s+(?:the\s+)?same\b)"
    r"|(?:the\s+)?same(?!\s+(?:month|period|day|week|year|quarter|time|date)s?\b)"
    r"(?=(?:\s+[\w-]+){1,4}\s+but\s+(?:for|with|in|on)\b)"
    r"|(?<=\s)but(?=\s+(?:for|with|in|on)\s)"
    r"|beleza|valeu|okay|ok|asap|(?:a\s+)?mesma\s+coisa|(?:the\s+)?same\s+thing|same\s+for(?=\s)|break\s+(?:it\s+)?down|desagreg(?:ue|ar)|discrimin(?:e|ar)"
    # "scheduled vs verified, daily average of each": each of the measures named
    r"|(?:of|for)\s+(?:each|both)(?=\s*[,.?!]|\s*$)|de\s+cada\s+uma?(?=\s*[,.?!]|\s*$)"
    # "o máximo em vez da média": the aggregate replaced, named (a follow-up says what it wants)
    r"|(?:em\s+vez|ao\s+inves)\s+d[aoe]s?\s+(?="
    + _AGG_WORD
    + r"\b)"
    + _AGG_WORD
    + r"|instead\s+of\s+(?:the\s+)?(?="
    + _AGG_WORD
    + r"\b)"
    + _AGG_WORD
    # "the programmed one": the measure named again
    + r"|(?:(?<=programmed\s)|(?<=scheduled\s)|(?<=verified\s)|(?<=planned\s))one"
    # "how big was the spread?": the value asked
    + r"|how\s+(?:big|large|wide)(?=\s+(?:was|is|were|are)\b)"
    # "table of average load by subsystem": the answer is a table
    r"|^\W*(?:(?:a|uma)\s+)?(?:table|tabela)\s+(?:of|de|com)(?=\s)"
    # "output of Jirau and Santo Antônio over the last 30 days, each": of each one named
    r"|,\s*(?:each|cada\s+uma?)(?=\s*[.?!]?\s*$)"
    # "who exports, who imports?": the sign of the net interchange says it
    r"|who\s+exports?\s*,?\s*(?:and\s+)?who\s+imports?|quem\s+exporta\s*,?\s*(?:e\s+)?quem\s+importa|(?:in\s+)?(?:which|what)\s+direction|which\s+way(?:\s+(?:is|was|does|did)\s+it\s+(?:going|flowing|go|flow|running|run))?|(?:em\s+)?(?:qual|que)\s+(?:o\s+|a\s+)?(?:sentido|direcao)|(?:indicando|mostrando|showing|indicating)\s+(?:o\s+|the\s+)?(?:sentido|direcao|direction)(?:\s+predominante|\s+(?:mostly|mainly))?(?:\s+(?:do|of\s+the)\s+(?:fluxo|flow))?|favor(?=\s+(?:informar|enviar|indicar|mostrar|listar|calcular|responder|me\b))|thank\s+you|ola|oi|hello|hi|hey"
    r"|por\s+gentileza|se\s+(?:for\s+)?possivel|se\s+puder|sera\s+que|desde\s+ja|agradec[oe]"
    # "pf" (por favor) where politeness stands: first, last, or between commas
    r"|(?<!\bo\s)(?<!\ba\s)(?<!\bdo\s)(?<!\bda\s)(?<!\bde\s)(?<!\bthe\s)(?<!\bum\s)(?<!\ban\s)\bpfv?r?"
    r"(?!\s+(?:d[aeo]|of)\b)"
    r"|grat[oa]|voce|if\s+possible|if\s+you\s+can|i\s+(?:would|'d)\s+(?:really\s+)?appreciate"
    r"(?:\s+it)?|(?:and\s+)?i\s+(?:was|am)\s+wondering\s+(?:if|whether)|much\s+appreciated)\b"
)
# a sentence of greetings or thanks, or a preamble before the request ("I'm writing a piece on
# wind power and I was wondering if you could tell me …"), or a purpose ("para minha
# dissertação"): context, dropped when the question then reads completely
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_ASIDE = re.compile(r"\s*\([^()]{1,80}\)")
# a question quoted after who sent it: "Forwarding from Reuters: 'What was …?'"
_ATTRIBUTION = re.compile(
    r"\b(?:forward(?:ing|ed)?|fwd|encaminh\w+|from|via|de\s+(?:um|uma)|pergunt\w+|ask(?:s|ed|ing)?"
    r"|quer\s+saber|wants\s+to\s+know|question\s+from|pergunta\s+d[aeo])\b"
)
_QUOTED = re.compile(
    r"""^(?P<lead>[^'"“‘:]{1,80}):\s*['"“‘](?P<q>[^'"”’]{10,})['"”’]\s*[.?!]?\s*$"""
)
# ", the year of the crisis", ", o dia do apagão": what the period just named was, at the end
_APPOSITIVE = re.compile(
    r",\s*(?:the|o|a)\s+(?P<unit>year|ano|month|m[eê]s|day|dia)\s+(?:of|da|do|de|das|dos)"
    r"\s+[^,?.!()]{1,40}(?=[?.!]*\s*$)",
    re.IGNORECASE,
)
# the period an appositive follows, by its unit: a year, a month (and year), a date
_PERIOD_BEFORE = {
    "year": re.compile(r"\b\d{4}\s*$"),
    "month": re.compile(
        r"\b(?:jan|fev|feb|mar|abr|apr|mai|may|jun|jul|ago|aug|set|sep|out|oct|nov|dez|dec)[a-z]*"
        r"(?:\s+(?:de\s+|of\s+)?\d{4})?\s*$"
    ),
    "day": re.compile(
        r"\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\s*$|\b\d{4}-\d{2}-\d{2}\s*$"
        r"|\b\d{1,2}\s+(?:de\s+)?[a-z]+(?:\s+(?:de\s+)?\d{4})?\s*$|\b[a-z]+\s+\d{1,2},?\s+\d{4}\s*$"
    ),
}
_APPOSITIVE_UNIT = {
    "year": "year",
    "ano": "year",
    "month": "month",
    "mes": "month",
    "day": "day",
    "dia": "day",
}
_LABEL = re.compile(r"\s*[^\W\d_][^:\n]{0,40}:\s+(?=\S)")
# a longer lead before a colon: context when it says who asks or what for (see _without_label)
_LONG_LEAD = re.compile(r"\s*[^\W\d_][^:\n?!]{0,200}:\s+(?=\S)")
_FOR_WHOM_LEAD = re.compile(r"\s*(?:pra|para|pro|pros|pras|for)\s")
# a sentence that only greets: "Bom dia.", "Hi!", "Good morning,"
_GREETING_ONLY = re.compile(
    r"\W*(?:bom\s+dia|boa\s+(?:tarde|noite)|ola|oi|hi|hello|hey|good\s+(?:morning|afternoon"
    r"|evening)|morning)\W*"
)
# one word before a colon that heads a message, never a name ("Xingó: quanto gerou?")
_LABEL_WORDS = {
    "ultima", "ultimo", "pergunta", "duvida", "obs", "observacao", "urgente", "adicionalmente",
    "tambem", "ps", "nota", "question", "last", "also", "additionally", "note", "urgent",
    "update", "followup", "bonus",
}  # fmt: skip
_REQUEST = rx(
    r"\b(?:(?:i\s+(?:was|am)\s+)?wondering\s+(?:if|whether)|could\s+you|can\s+you|would\s+you"
    r"|(?:voce|vc)\s+(?:poderia|pode|podia|consegue)|gostaria\s+de\s+saber|queria\s+saber"
    r"|(?:preciso|precisamos)\s+(?:saber|d[oae]s?)|(?:i|we)\s+need\s+(?:to\s+know|the)"
    r"|i(?:'d|\s+would)\s+like\s+to\s+know|please\s+tell)\b"
)
# who asks, before the request ("Trabalho numa distribuidora em SC e preciso …", "I work for a
# utility in Paraná and need …"): about the asker, never a filter of the data
_ASKER = rx(
    r"^\s*(?:(?:hi|hello|hey|oi|ola|bom\s+dia|boa\s+(?:tarde|noite)|good\s+(?:morning|afternoon"
    r"|evening))\W+)?(?:eu\s+)?(?:trabalho|moro|sou|atuo|estudo|i\s+(?:work|live|study)|i'm|i\s+am"
    r"|(?:to|tou|estou|estamos)\s+(?:fazendo|escrevendo|preparando|montando)"
    r"|(?:we're|we\s+are)\s+(?:writing|preparing|doing)"
    r"|(?:our|my|nossa|nosso|minha|meu)\s+(?:[^\W\d]+\s+)?(?:plant|usina|factory|fabrica|company|empresa|site|farm"
    r"|parque|fazenda|business|negocio|plants|usinas))\b"
)
# where the asker is ("our plant sits in the submercado Norte"), and "there" pointing at it
_ASKER_PLACE = re.compile(
    r"\b(?:in|at|no|na|em)\s+(?:the\s+|o\s+|a\s+)?(?P<place>(?:(?:submercado|subsistema|subsystem"
    r"|submarket|region|regi[aã]o|estado|state)\s+(?:d[oa]\s+|of\s+)?)?[A-ZÀ-Ý][\wÀ-ÿ]+"
    r"(?:\s+(?:d[oa]\s+)?[A-ZÀ-Ý][\wÀ-ÿ]+)?(?:\s+(?:submarket|subsystem|region))?)"
)
_THERE = rx(
    r"\b(?:there|l[aá]|ali|nesse\s+(?:subsistema|submercado|estado)|in\s+that\s+(?:subsystem|submarket|region|state))\b"
)
_PURPOSE = rx(
    r"[,\s]+(?:(?:para|pra)\s+(?:eu|a\s+gente)(?=\s+[a-z]+(?:ar|er|ir)\b)"
    r"|so\s+(?:that\s+(?:i|we)(?:\s+(?:can|could))?|(?:i|we)\s+(?:can|could))"
    r"|(?:para|pra|for)\s+(?:(?:a\s+|o\s+)?(?:minha|meu|nossa|nosso|my|our)"
    r"|(?:mostrar|apresentar|usar|showing|presenting|using|show|present|use)\s+"
    r"(?:em|na|no|numa|num|in|at|to|a|an|the)?))(?:\s+[^\W\d]+){1,3}\s*[.!?]*\s*$"
    # "pra uma apresentação", "for a class": what the answer is for
    r"|[,\s]+(?:para|pra|for)\s+(?:uma?|a|an|the)\s+(?:apresentacao|aula|reportagem|materia|relatorio"
    r"|palestra|presentation|class|lecture|report|article|story|talk|slides?|post)\s*[.!?]*\s*$"
    # "…, pra comparar?": why it is asked, not what
    r"|[,\s]+(?:(?:para|pra)\s+(?:comparar|comparacao)|to\s+compare|for\s+comparison)\s*[.!?]*\s*$"
)
_SOURCE_WORD = (
    r"(?:hidro\w*|hidraulica|hidrica|term\w*|eolica|solar|nuclear|fotovoltaica|wind|hydro\w*"
    r"|thermal)"
)
_WHICH_SOURCE = rx(
    r"\b(?:qual|quais|which|what)\s+(?:a\s+|the\s+)?(?:fontes?|sources?)\b[^?.!]{0,40}?"
    r"\b(?:gerou|geraram|produziu|produziram|generated|produced)\b"
)
_SOURCE_OR = rx(
    r"\b" + _SOURCE_WORD + r"\s*,?\s+(?P<or>ou|or)\s+(?:a\s+|the\s+)?" + _SOURCE_WORD + r"\b"
)
# "from the balanco table", "na tabela de balanço": where the data is, its name read as usual
_FROM_TABLE = rx(
    r"\b(?P<a>(?:from|in|using|on)\s+the)\s+[\w-]+\s+(?P<b>table|dataset)\b"
    r"|\b(?P<a2>(?:n|d)a\s+tabela)\s+(?:de\s+|d[oa]\s+)?[\w-]+"
)
# how the answer is to be handed over ("as a table I can download", "em CSV", "pra baixar"): the
# same values whatever the form
_DOWNLOADABLE = (
    r"(?:(?:that|which)\s+)?(?:i|we|you)\s+(?:can|could)\s+(?:download|export|save)"
    r"|(?:to|for)\s+(?:download(?:ing)?|export(?:ing)?)|downloadable"
    r"|(?:que\s+)?(?:eu\s+|a\s+gente\s+)?(?:possa|possamos|consiga|de)\s+(?:baixar|exportar)"
    r"|(?:para|pra)\s+(?:eu\s+)?(?:baixar|download|exportar)"
)
_DELIVERY = rx(
    r"[,\s]*\b(?:(?:as|in|into)\s+(?:an?\s+)?|(?:em|numa?|como)\s+(?:uma?\s+)?)"
    r"(?:tabela|planilha|table|spreadsheet|csv|excel|json)(?:\s+(?:file|format|arquivo|formato))?"
    r"(?:\s+(?:" + _DOWNLOADABLE + r"))?\b"
    r"|[,\s]*\b(?:" + _DOWNLOADABLE + r")\b"
)
_PURPOSE_LEAD = rx(
    r"\s*(?:para|pra|for)\s+(?:a\s+|o\s+|as\s+|os\s+)?(?:minhas?|meus?|nossas?|nossos?|my|our)"
    r"(?:\s+[^\W\d]+){1,2}?\s*(?:[,:]\s*|(?=\s+(?:i|we|eu|preciso|quero|gostaria)\b))"
)
# "a fonte solar", "energy source wind": the noun before a source names it
_SOURCE_NOUN = rx(
    r"\b(?:fontes?|(?:energy\s+)?sources?)(?=\s+(?:de\s+(?:energia\s+)?|de\s+geracao\s+)?"
    r"(?:solar|eolica|hidraulica|hidrica|hidreletrica|termica|termeletrica|nuclear"
    r"|fotovoltaica|wind|hydro|thermal)\b)"
)
_EAR_STORED, _EAR_CAPACITY = "ear_verif_subsistema_mwmes", "ear_max_subsistema"
_PERIOD_WORDS = {
    "feriado", "feriados", "holiday", "holidays", "carnaval", "carnival", "natal", "christmas",
    "pascoa", "easter", "madrugada", "madrugadas", "manha", "tarde", "noite", "morning",
    "afternoon", "evening", "night", "ponta", "fora", "quaresma", "reveillon", "semana",
    "week", "mes", "month", "ano", "year", "dia", "day", "hora", "hour", "horas", "hours",
    "manhas", "tardes", "noites", "mornings", "afternoons", "evenings", "nights", "ferias",
    "vacation", "vacations", "semanas", "weeks", "dias", "days", "meses", "months",
}  # fmt: skip

# -- phrases ----------------------------------------------------------------------------------

_ENTITY = {
    "subsystem": r"subsistemas?|regi(?:ao|oes)|submercados?|subsystems?|regions?|submarkets?",
    "plant": r"usinas?|(?:power\s+|generating\s+)?plants?|power\s+stations?"
    r"|parques?\s+(?:eolicos?|solares?)"
    r"|(?:wind|solar)\s+(?:farms?|parks?|complex(?:es)?)|complexos?\s+eolicos?",
    "state": r"estados?|states?|ufs?",
    "source": r"fontes?(?:\s+de\s+energia)?|(?:energy\s+)?sources?|tipos?\s+de\s+(?:usina|fonte)",
    "fuel": r"combustive(?:l|is)|fuels?(?:\s+types?)?",
}
_ENTITY_ANY = "|".join(f"(?P<{k}>{v})" for k, v in _ENTITY.items())
_UP = (
    r"maior(?:es)?|mais\s+alt[oa]s?|highest|largest|biggest|greatest|most|top|principais"
    r"|priciest|most\s+expensive|mais\s+car[oa]s?|fullest|mais\s+chei[oa]s?|mais"
    # the comparative for the superlative, as "mais" is both: "which source generated more?"
    r"|more(?!\s+than)|higher(?!\s+than)|bigger(?!\s+than)|greater(?!\s+than)|larger(?!\s+than)"
)
_DOWN = (
    r"menor(?:es)?|mais\s+baix[oa]s?|mais\s+barat[oa]s?|cheapest|lowest|smallest|least|bottom"
    r"|emptiest|mais\s+vazi[oa]s?|menos|less(?!\s+than)|lower(?!\s+than)|smaller(?!\s+than)"
    r"|fewer(?!\s+than)"
)
_SUPERLATIVE = rx(
    r"\b(?:(?:com|with|that|que|de|from|do|da)\s+)?(?:(?:o|a|the)\s+)?(?:(?P<down>"
    + _DOWN
    + r")|(?P<up>"
    + _UP
    + r"))\b"
    # the order of a ranking said as such: "highest first", "do maior para o menor"
    + r"(?:\s+first\b|\s+(?:to|para\s+[oa]|pr[oa])\s+(?:the\s+)?(?:lowest|highest|smallest|largest"
    + r"|cheapest|priciest|menor|maior|mais\s+barat[oa]|mais\s+car[oa])\b)?"
)
_RANK_WHICH = rx(
    r"\b(?:qual|quais|which|what)\s+(?:(?:foi|foram|e|eh|sao|was|were|is|are)\s+)?"
    r"(?:(?:o|a|os|as|the)\s+)?(?:(?:single|one)\s+)?"
    r"(?P<kind>(?:thermal|thermoelectric|hydro(?:electric)?|hydropower|wind|solar|photovoltaic"
    r"|nuclear|gas(?:-fired)?|coal(?:-fired)?)\s+)?(?:" + _ENTITY_ANY + r""
    # "qual hidrelétrica de MG gerou mais": the kind of plant names the plants
    r"|(?P<plant_kind>hidreletricas?|termeletricas?|termoeletricas?))\b"
)
_RANK_N = rx(
    r"\b(?:(?:os|as|the)\s+)?(?:(?P<dir>top|bottom)(?:-|\s*))?(?P<n>" + NUM + r")\s+"
    r"(?:(?P<adj>maiores|menores|principais|largest|biggest|smallest|highest|lowest|top)\s+)?(?:"
    + _ENTITY_ANY
    + r")\b"
)
_UP_WORDS = frozenset({"maiores", "principais", "largest", "biggest", "highest", "top"})
_DOWN_WORDS = frozenset({"menores", "smallest", "lowest", "bottom"})
_RANK_TOP = rx(r"\b(?P<dir>top|bottom)(?:-|\s*)(?P<n>" + NUM + r")\b")
_RANK_ADJ_N = rx(
    r"\b(?:(?:os|as|the)\s+)?(?P<n>" + NUM + r")\s+(?P<adj>maiores|menores|principais|largest"
    r"|biggest|smallest|highest|lowest)\b"
)
_RANK_PLAIN = rx(
    r"\b(?:(?:as|os|the)\s+)?(?P<adj>maiores|principais|largest|biggest|menores|smallest"
    r"|ranking\s+d[aoe]s?|rank(?:ing)?\s+(?:of\s+)?(?:the\s+)?(?:(?:all|four|five|4|5)\s+)?)\s*"
    r"(?:" + _ENTITY_ANY + r")\b"
)
_RANK_ONE = rx(
    r"\b(?:(?:a|o|the)\s+)?(?P<adj>maior|largest|biggest|menor|smallest)\s+(?:"
    + _ENTITY_ANY
    + r")\b"
)
# a ranking of time windows: "qual dia teve a maior carga", "os 3 dias de maior CMO", "the day
# with the highest load", "which month had the lowest EAR"
_TIME_UNITS = {
    "dia": "1d", "dias": "1d", "day": "1d", "days": "1d", "data": "1d", "date": "1d",
    "semana": "1w", "semanas": "1w", "week": "1w", "weeks": "1w",
    "mes": "1mo", "meses": "1mo", "month": "1mo", "months": "1mo",
    "ano": "1y", "anos": "1y", "year": "1y", "years": "1y",
    "hora": "1h", "horas": "1h", "hour": "1h", "hours": "1h", "horario": "1h",
}  # fmt: skip
_TIME_UNIT = r"(?:" + "|".join(sorted(_TIME_UNITS, key=len, reverse=True)) + r")"
# after "which subsystem …?": every one of them, ranked ("show the averages for all four")
_SHOW_ALL = rx(
    r"\b(?:show|list|give|display|mostre|mostra|liste|lista|traga|exiba|rank|ordene"
    r"|classifique)\s+(?:me\s+)?"
    r"(?:(?:the|as|os)\s+)?(?:(?:averages|means|values|totals|figures|medias|valores|totais"
    r"|numeros)\s+)?(?:(?:for|of|de|para|d[oa]s)\s+)?(?:all|todos|todas|each|cada)\s*"
    r"(?:(?:the|os|as)\s+)?(?:(?P<n>" + NUM + r")\b\s*)?(?:" + _ENTITY_ANY + r")?"
)
# "ended November with", "fechou outubro em": the level at the end of the period named
_ENDED = rx(
    r"\b(?:ended|closed|finished|terminou|terminaram|fechou|fecharam|encerrou|encerraram)"
    r"(?=\s+(?:(?:o|a|the)\s+)?(?:" + P.MONTH_ANY + r"|\d|mes|ano|semana|trimestre|semestre"
    r"|month|year|week|quarter)\b)"
)
_LAST_OF_EACH = rx(
    r"\b(?:n?o\s+)?(?:ultimo\s+dia|fi(?:m|nal))\s+de\s+cada\s+(mes|semana|ano)\b"
    r"|\b(?:on\s+|at\s+)?the\s+(?:last\s+day|end)\s+of\s+(?:each|every)\s+(month|week|year)\b"
)
# a comparative of the value ("foi maior", "had the most"), not a named maximum ("máximo", "pico")
_LARGER = rx(
    r"\b(?:maior|menor|mais\s+alt[oa]|mais\s+baix[oa]|highest|lowest|largest|smallest|greatest"
    r"|most|least)\b"
)
_TIME_RANK = rx(
    r"\b(?:(?:em\s+|in\s+|on\s+)?(?:qual|quais|which|what|(?<=em\s)que)\s+(?:(?:foi|foram|e|was|were|is)\s+)?"
    r"(?:(?:o|a|os|as|the)\s+)?(?:(?P<n1>" + NUM + r")\s+)?(?P<u1>" + _TIME_UNIT + r")"
    # "em que dia e hora": the instant of an extreme, not a ranking of days
    r"(?!\s+(?:e|and)\s+(?:a\s+|the\s+)?(?:hora|horario|time|hour)\b)"
    r"|(?:(?:os|as|the)\s+)?(?:(?P<dir>top|bottom)[\s-]*)?(?P<n2>" + NUM + r")\s+"
    r"(?:(?P<adj2>maiores|menores|largest|highest|lowest|smallest)\s+)?(?P<u2>" + _TIME_UNIT + r")"
    r"|(?:(?:o|a|the)\s+)?(?P<adj3>maior|menor|highest|lowest)\s+(?P<u3>" + _TIME_UNIT + r")"
    r"|(?:(?:o|a|the)\s+)?(?P<u4>" + _TIME_UNIT + r")(?=\s+(?:de|com|with|that\s+had)\s+"
    r"(?:(?:o|a|the)\s+)?(?:maior|menor|highest|lowest|largest|smallest)\b))\b"
)
_RANK_HINTS = rx(
    r"\b(?:que\s+mais\s+(?:geraram|gerou|produziram|produziu)|that\s+generated\s+the\s+most"
    r"|with\s+the\s+(?:highest|largest|most)\s+(?:generation|output)|generated\s+the\s+most"
    r"|por\s+(?:geracao|generation)|by\s+(?:generation|output)|em\s+geracao"
    # "manda o ranking dos 4", "rank them": every one ranked
    r"|ranking|rank(?:ed)?)\b"
)

_MOVING_AVG = rx(
    r"\b(?:media\s+movel|moving\s+average|rolling\s+(?:average|mean))(?:\s+(?:de|of|over)?\s*"
    r"(?P<n>" + NUM + r")[\s-]*(?P<unit>dias?|days?|horas?|hours?|pontos|points|semanas?|weeks?"
    r"|meses|months?|periodos|periods))?\b"
)
_MOVING_AVG_PREFIX = rx(
    r"\b(?P<n>" + NUM + r")[\s-]*(?P<unit>dias?|days?|horas?|hours?|semanas?|weeks?|meses|months?"
    r"|pontos|points)\s+(?:moving\s+average|rolling\s+(?:average|mean)|media\s+movel)\b"
)
# a change from one step to the next ("variação diária", "day-to-day change"): within a period
_PER_STEP = rx(
    r"\b(?:diari[oa]s?|horari[oa]s?|semana(?:l|is)|mensa(?:l|is)|por\s+(?:dia|hora|semana|mes)"
    r"|daily|hourly|weekly|monthly|per\s+(?:day|hour|week|month)|a\s+cada|dia\s+a\s+dia"
    r"|hora\s+a\s+hora|(?:day|hour|week|month)[\s-]+(?:to|over|on|by)[\s-]+(?:day|hour|week|month)"
    r"|from\s+(?:one|each)\s+\w+)\b"
)
_OVER_PREVIOUS = rx(
    r"\b(?:(?P<y>yoy|y-o-y|year[\s-]+(?:over|on)[\s-]+year|ano\s+contra\s+ano|interanual)"
    r"|(?P<m>mom|m-o-m|month[\s-]+(?:over|on)[\s-]+month|mes\s+contra\s+mes)"
    r"|(?P<w>wow|w-o-w|week[\s-]+(?:over|on)[\s-]+week|semana\s+contra\s+semana))\b"
)
_TREND = rx(r"\b(?:tendencias?|trends?|trending|taxa\s+de\s+variacao|rate\s+of\s+change)\b")
_DIFFERENCE = rx(
    r"\b(?:variacao|variacoes|changes?\s+(?:from|between)\s+(?:one|each)\s+\w+"
    r"|period[\s-]+over[\s-]+period\s+change|changes?|diferenca\s+entre\s+periodos)\b"
)
# "a diferença entre o CMO do SE e do NE": two subsystems' values, one minus the other
_DIFFERENCE_OF_TWO = rx(r"\b(?:diferencas?|differences?|diff)\b")
# a change between two periods: "variação", and "diferença" only when two periods are named
_CHANGE = rx(
    r"\b(?:variacao|variacoes|vari(?:ou|aram)|var(?:y|ied)|changes?|diferencas?|differences?|period[\s-]+over[\s-]+period"
    r"\s+change|aument(?:ou|aram|o)|diminu(?:iu|iram|icao)|cresc(?:eu|eram|imento)|ca(?:iu|iram)"
    r"|queda|subi(?:u|ram)|increased?|decreased?|grew|grow|growth|rose|rise|fell|dropped|drop)\b"
)
# the change asked in percent: "variação percentual", "% change", "cresceu quanto (%)"
_CHANGE_PERCENT = rx(
    r"\b(?:variacao|crescimento|aumento|queda|reducao|change|growth|increase|decrease|drop|rise)"
    r"\s+(?:percentual|em\s+%|in\s+%|in\s+percent(?:age)?(?:\s+terms)?|%)"
    r"|(?:\b(?:percent(?:age)?|percentual)|%)\s+(?:change|growth|increase|decrease|drop|rise"
    r"|variacao|de\s+variacao|de\s+crescimento)\b"
    r"|\b(?:cresceu|aumentou|caiu|diminuiu|variou|grew|rose|fell|increased|decreased|changed)"
    r"(?:\s+(?:quanto|how\s+much|by\s+how\s+much))?\s*(?:\(\s*(?:em\s+)?%\s*\)|em\s+%|in\s+%)"
    # "cresceu quantos %?", "grow by how many percent", "grow in %"
    r"|\b(?:cresceu|aumentou|caiu|diminuiu|variou|grew|grow|rose|rise|fell|fall|increased?"
    r"|decreased?|changed?)\s+(?:(?:by\s+)?how\s+many|quant[oa]s?|in|by|em)\s*"
    r"(?:%|percent|por\s+cento)"
    # "how much % did it grow?", "quantos % cresceu?"
    r"|\b(?:how\s+much|by\s+how\s+many|quant[oa]s?)\s*(?:%|percent|por\s+cento)\s+(?:did\s+"
    r"(?:it|they)\s+)?(?:grow|rise|increase|fall|drop|decrease|change|cresceu|aumentou|caiu"
    r"|diminuiu|variou)\b"
)
_CUMULATIVE = rx(
    r"\b(?:soma\s+acumulada|acumulad[oa]\s+(?:ao\s+longo|no\s+periodo)|running\s+total"
    r"|cumulative(?:\s+sum|\s+total)?|acumulad[oa])\b"
)
_SHARE = rx(
    r"\b(?:participacao|parcela|fatia|proporcao|percentual|porcentagem|share|proportion"
    r"|percentage|percent(?=\s+of\b)|por\s+cento(?=\s+d[aoe]s?\b)|fraction|contribution|contribuicao|quant[oa]\s+d[oa]|how\s+much\s+of\s+the)\b"
    r"|%"
)
_SERVED_BY = rx(
    r"\b(?:atendid[oa]s?|suprid[oa]s?|cobert[oa]s?|met|served|supplied|covered)\s+"
    r"(?:pel[oa]s?|por|by)\b|\b(?:cover(?:ed|s)?|meet|met|supplied|supply|served|serve"
    r"|atendeu|atende|cobriu|cobre|supriu)\b"
)
_RATIO = rx(r"\b(?:razao|relacao|ratio|dividid[oa]\s+por|divided\s+by|sobre\s+a)\b")
_COMPARE = rx(
    r"\b(?:compare|comparar|compara|comparacao|comparativo|comparing|comparison|versus"
    r"|vs\.?|contra|against)\b|(?<=\s)x(?=\s)|\b"
    + P.COMPARATIVE
    # "quantos GWh a mais (ou a menos)": the difference, read from the two values compared
    + r"|\ba\s+(?:mais|menos)(?:\s*\(?\s*ou\s+a\s+(?:mais|menos)\s*\)?)?"
    + r"|\b(?:how\s+much|quant[oa]s?)\s+(?:more|less|mais|menos)\b"
    # "did the NE generate more wind than the S": the second term of a comparative split by
    # its noun (a number after it is a condition)
    + r"|\bthan\b(?!\s+(?:r\$\s*)?\d)"
    # "which one generated more?", "qual das duas gerou mais?": the values compared, each given
    + r"|\b(?:who|which\s+(?:one|of\s+(?:the\s+)?(?:two|them|both)))\s+(?:\w+\s+)?"
    + r"(?:more|less|higher|lower|(?:the\s+)?most|(?:the\s+)?least)\b"
    + r"|\bqual\s+(?:d[oa]s\s+(?:dois|duas)|delas|deles)\s+(?:\w+\s+)?(?:mais|menos)\b"
)
_WHEN = rx(
    r"\b(?:e\s+)?(?:em\s+(?:que|qual)\s+(?:dia\s+e\s+(?:hora|horario)|data\s+e\s+(?:hora|horario)"
    r"|hora|horario|dia|data|momento)"
    r"|(?:on\s+|at\s+)?(?:which|what)\s+(?:day|date)\s+and\s+(?:time|hour)"
    r"|(?:the\s+)?date\s+and\s+(?:the\s+)?(?:value|time)"
    r"|data\s+e\s+(?:o\s+)?valor|a\s+que\s+horas?|que\s+horas"
    r"|(?:valor\s+e\s+)?(?:a\s+)?data\s*/\s*hora|(?:value\s+and\s+)?(?:the\s+)?date\s*/\s*time"
    r"|quando|when|at\s+what\s+(?:time|hour)|at\s+which\s+hour|on\s+which\s+day|and\s+when"
    r"|(?:with|and)\s+(?:the\s+|its\s+)?timestamps?|com\s+(?:o\s+|a\s+)?(?:horario|instante|data"
    r"|hora|dia)(?:\s+e\s+(?:a\s+|o\s+)?(?:hora|horario|data|dia))?"
    r"|com\s+(?:os\s+|as\s+)?(?:respectiv[oa]s\s+)?(?:instantes|horarios|datas|horas)"
    r"|with\s+(?:the\s+|its\s+|their\s+)?(?:dates?|times?|hours?)(?:\s+(?:they|it)\s+occurred)?"
    # "cmo max sul ontem e horário", "max load and time": the time, said last
    r"|(?:e|and)\s+(?:o\s+|a\s+|seu\s+|sua\s+|the\s+|its\s+)?(?:horario|hora|instante|time"
    r"|timestamp|hour|dia|day|data|date)(?=\s*[?.!]?\s*$)"
    r"|(?:[ao]\s+)?(?:hora|horario|dia|momento|instante)\s+(?:em\s+)?que"
    r"(?=\s+(?:ocorreu|aconteceu|foi\s+registrad[oa]))"
    # "and the hour it happened"
    r"|(?:the\s+)?(?:hour|time|day|moment)\s+(?:when\s+|that\s+)?"
    r"(?=(?:it|this|that)\s+(?:happened|occurred)))\b"
    r"(?:\s+(?:did|does|was|is))?(?:\s+(?:ela|ele|isso|it|this|that))?"
    r"(?:\s+(?:ocorreu|aconteceu|foi\s+registrad[oa]|happen(?:ed)?|occur(?:red)?"
    r"|take\s+place|took\s+place|(?:was\s+)?(?:recorded|observed|seen|registered)|reached"
    r"|peak(?:ed)?))?"
)

# "por dia", "em cada mês", "for each week": one value per such unit
_EACH = r"(?:por|(?:em\s+|n[oa]\s+)?(?:a\s+)?cada|(?:in\s+|for\s+)?each|every|per|by)\s+"
_GROUP_TIME: list[tuple[str, str]] = [
    (r"(?:a\s+cada|every|por|per|each|in)\s+(?P<n>" + NUM + r")\s*(?:minutos|minutes|mins?|min)"
     r"(?:\s+windows)?", "{n}m"),
    (r"(?:a\s+cada|every|por|per|each|in)\s+(?P<n>" + NUM + r")\s*(?:horas|hours|h)"
     r"(?:\s+windows)?", "{n}h"),
    (r"(?:a\s+cada|every|por|per|each|in)\s+(?P<n>" + NUM + r")\s*(?:dias|days)(?:\s+windows)?",
     "{n}d"),
    (r"(?:por|a\s+cada|de)\s+meia\s+hora|de\s+meia\s+em\s+meia\s+hora"
     r"|(?:every|per|each|by\s+the)\s+half[\s-]+hour|(?:a\s+cada|every|each)\s+30\s+min", "30m"),
    (r"de\s+hora\s+em\s+hora|(?:de\s+|" + _EACH + r")(?:hora|hour)|hora\s+a\s+hora"
     r"|hour\s+by\s+hour", "1h"),
    (r"de\s+dia\s+em\s+dia|" + _EACH + r"(?:dia|day)|dia\s+a\s+dia|day\s+by\s+day", "1d"),
    (_EACH + r"(?:semana|week)|semana\s+a\s+semana"
     r"|week\s+by\s+week", "1w"),
    (_EACH + r"(?:mes|month)|mes\s+a\s+mes|month\s+by\s+month", "1mo"),
    (_EACH + r"(?:ano|year)|ano\s+a\s+ano|year\s+by\s+year", "1y"),
]  # fmt: skip
_GROUP_TIME_RX = [(rx(r"\b(?:" + p + r")\b"), w) for p, w in _GROUP_TIME]
# adjectives of grain: a grouping, or (with an aggregate, at the data's own grain) the values
_GRAIN_ADJ: list[tuple[str, str]] = [
    (r"semi[\s-]?horari[oa]s?|half[\s-]?hourly", "30m"),
    (r"horari[oa]s?|hourly", "1h"),
    (r"diari[oa]s?|daily", "1d"),
    (r"semanais|semanal|weekly", "1w"),
    (r"mensais|mensal|monthly", "1mo"),
    (r"anuais|anual|yearly|annual(?:ly)?", "1y"),
]
_GRAIN_ADJ_RX = [(rx(r"\b(?:" + p + r")\b"), w) for p, w in _GRAIN_ADJ]
# load levels (patamares) of the weekly CMO; "carga média" is left alone (the mean load)
_PATAMAR = rx(
    r"\b(?:(?:n[oa]s?|em|d[oa]s?|at|in|for)\s+(?:the\s+)?)?(?:patamar(?:es)?(?:\s+de\s+carga)?"
    r"\s+(?P<pt>leve|medio|media|pesado|pesada)|carga\s+(?P<load>leve|pesada)"
    r"|(?P<en>light|medium|heavy)[\s-]+load(?:\s+level)?|(?P<en2>light|medium|heavy)\s+level)\b"
)
PATAMAR_FIELDS = {"leve": "val_cmoleve", "medio": "val_cmomedia", "media": "val_cmomedia",
                  "pesado": "val_cmopesada", "pesada": "val_cmopesada", "light": "val_cmoleve",
                  "medium": "val_cmomedia", "heavy": "val_cmopesada"}  # fmt: skip
# datasets a user mapping may add (examples/mappings/ons_extra.toml), asked by their grain
WEEKLY_CMO = "cmo_semanal"
DAILY_LOAD = "carga_energia"

_EVERY = r"(?:por|cada|each|per|by|para\s+cada|for\s+(?:each|every)|every)"
_GROUP_TAG: list[tuple[str, str]] = [
    (_EVERY + r"\s+(?:tipos?\s+de\s+)?(?:combustivel"
     r"|combustiveis|fuels?(?:\s+types?)?)", "nom_tipocombustivel"),
    (r"(?:por|cada|each|per|by|para\s+cada|for\s+(?:each|every)|every|todos\s+os|all)\s+(?:tipos?\s+de\s+usinas?"
     r"|tipos?|plant\s+types?|types?(?:\s+of\s+plants?)?)", "nom_tipousina"),
    (_EVERY + r"\s+(?:usinas?|plants?|power\s+plants?)",
     "nom_usina"),
    # "every wind farm", "cada parque eólico": each plant, its kind left to be read
    (_EVERY + r"(?=\s+(?:(?:wind|solar|hydro(?:electric)?|thermal|nuclear|gas|coal|biomass)\s+"
     r"(?:farms?|parks?|plants?|power\s+(?:plants?|stations?)|stations?|complex(?:es)?)"
     r"|parques?\s+(?:eolicos?|solares?)|complexos?\s+eolicos?)\b)", "nom_usina"),
    (_EVERY + r"\s+(?:estados?|states?|uf)", "id_estado"),
    (r"(?<!somando\s)(?<!summing\s)(?<!adding\s)"
     r"(?:por|cada|each(?:\s+of)?|per|by|para\s+cada|for\s+(?:each|every)|every|todos\s+os|em\s+todos\s+os|all|across|de\s+cada"
     # "the highest CMO in any subsystem": over them all, each one's
     r"|(?:in\s+|em\s+)?(?:any|qualquer)"
     r"|of\s+each|in\s+each|nos|entre\s+os)\s+(?:os\s+|the\s+)?(?:(?:four|quatro|all|4)\s+)?"
     r"(?:subsistemas?|regioes|regiao|subsystems?|regions?"
     r"|submercados?)", "id_subsistema"),
]  # fmt: skip
_GROUP_TAG_RX = [(rx(r"\b(?:" + p + r")\b"), t) for p, t in _GROUP_TAG]
# "the nuclear plants and their total generation": each of the things named, with its value
_THEIR = rx(r"\b(?:their|respective|respectiv[oa]s|suas|seus)\b")
_PLURAL_ENTITIES = [
    (rx(r"\b(?:usinas|plants|power\s+stations|stations)\b"), "nom_usina"),
    (rx(r"\b(?:estados|states)\b"), "id_estado"),
    (rx(r"\b(?:subsistemas|subsystems|regioes|regions|submercados)\b"), "id_subsistema"),
]
_BY_SOURCE = rx(
    r"\b(?:por|each|per|by|(?:para\s+|de\s+|d[ae]\s+)?cada|for\s+each)\s+(?:fontes?|sources?"
    r"|tipo\s+de\s+fonte"
    r"|energy\s+sources?|fonte\s+de\s+energia)\b|\b(?:matriz|mix|breakdown|distribuicao)"
    r"(?:\s+(?:eletrica|energetica|de\s+geracao|energy|generation|electricity))?"
    r"(?:\s+(?:por|by)\s+(?:fontes?|sources?))?\b"
)

# "the high of 2023", "CMO low, with timestamp": high and low as nouns, as markets write them
_AS_NOUN = r"(?=\s+(?:of|for|in|on|during|over|last|this|yesterday|today)\b|\s*[,?.!]|\s*$)"
_AGGREGATIONS: list[tuple[str, Aggregation]] = [
    (r"desvio[\s-]+padrao|standard\s+deviation|std\s*dev|stddev|volatilidade|volatility",
     Aggregation.STDDEV),
    (r"mediana|median", Aggregation.MEDIAN),
    (r"amplitude|(?:peak[\s-]+to[\s-]+trough|pico\s+a\s+vale)(?:\s+spread)?|spread",
     Aggregation.SPREAD),
    (r"(?:quantos|quantas|numero\s+de|how\s+many|number\s+of|count\s+of)\s+(?:registros|medicoes"
     r"|pontos|amostras|valores|records|points|measurements|samples|values|rows|linhas"
     r")(?:\s+(?:de\s+dados|of\s+data))?"
     r"|contagem|(?:row|record)\s+count|\bcount\b", Aggregation.COUNT),
    (r"(?:valor\s+)?(?:mais\s+recente|atual|atualmente|agora|neste\s+momento|current(?:ly)?"
     r"|latest|right\s+now|most\s+recent|ultimo\s+valor|last\s+value|now"
     r"|ultimo\s+dado|dado\s+mais\s+recente|last\s+data\s+point)",
     Aggregation.LAST),
    (r"primeiro\s+valor|first\s+value", Aggregation.FIRST),
    (r"(?:medi[ao]s?|averages?|\bavgs?\b|\bmeans?\b|em\s+media|on\s+average)(?:\s+do\s+dia)?",
     Aggregation.MEAN),
    (r"(?:valor\s+)?(?:maxim[oa]s?|max|maximum|(?:hora|horario)\s+de\s+pico|pico|picos"
     r"|(?:peak|busiest)\s+hour|peak|peaks|highest"
     r"|largest|biggest|greatest|dearest|most\s+expensive|mais\s+car[oa](?!\s+(?:do\s+)?que)"
     r"|maior(?:es)?"
     r"|mais\s+alt[oa]|(?:(?:bateu|bate|bater|batido|quebrou|broke|set|hit)\s+(?:o\s+|um\s+|seu\s+"
    r"|a\s+|its\s+)?(?:novo\s+|new\s+)?)?(?:record|recorde)|busiest|high" + _AS_NOUN + ")",
     Aggregation.MAX),
    # of a price (the CMO): "cheapest" is its lowest, "dearest" its highest
    (r"(?:valor\s+)?(?:minim[oa]s?|min|minimum|lowest|most\s+low|menor(?:es)?|mais\s+baix[oa]|vale"
     r"|cheapest|mais\s+barat[oa](?!\s+(?:do\s+)?que)"
     r"|low" + _AS_NOUN + ")", Aggregation.MIN),
    (r"soma|somatorio|\bsum\b|\btota(?:l|is|ls)\b|energia\s+total|total\s+energy", Aggregation.SUM),
]  # fmt: skip
_AGG_RX = [(rx(r"\b(?:" + p + r")\b"), a) for p, a in _AGGREGATIONS]

_MLT = rx(
    # "acima da média histórica?", "below the long-term average": compared with the MLT
    r"(?:\b(?P<vs>acima|abaixo|above|below|under|over)\s+)?"
    r"(?:\b(?:em|in|as|como)\s+)?(?:%|\bpercentual|\bpercent(?:age)?)?\s*"
    r"(?:\b(?:da|de|do|of\s+the|of|the)\s+)?"
    r"\b(?:mlt|long[\s-]term\s+(?:average|mean)|media\s+de\s+longo\s+termo|historical\s+average"
    r"|media\s+historica)\b"
)
_PERCENT_POINTS = rx(
    r"(?:\b(?:em|in)\s+)?(?:%\s*points?\b|\bpercentage\s+points?\b|\bpontos?\s+percentua(?:l|is)\b"
    r"|\bp\.\s?p\.)"
)
_PERCENT = rx(
    r"(?:\b(?:em|in|como|as)\s+)?(?:%\s*points?\b|\bpercentage\s+points?\b"
    r"|\bpontos?\s+percentua(?:l|is)\b|%|\bpercentu?al\b|\bpercent\b|\bpercentage\b)"
)
_FULLNESS = rx(
    r"\b(?:how\s+full|quao\s+cheios?|nivel\s+de\s+enchimento|(?:as\s+a\s+|in\s+)?percent(?:age)?"
    r"\s+of\s+(?:the\s+)?(?:capacity|maximum)|em\s+%\s+da\s+capacidade)\b"
    # "in % of max", "em % do máximo": of the storage capacity
    r"|(?:\b(?:in|as|em|como)\s+)?%\s*(?:of\s+(?:the\s+)?|d[oa]\s+)(?:max(?:imum)?|maxim[oa]"
    r"|capacity|capacidade)\b"
)
_MWMES = rx(r"\b(?:em\s+|in\s+)?(?:mw\s*mes|mwmes|mw[\s-]*months?|mwmonth)\b")
_MWH = rx(r"(?:,\s*)?\b(?:em\s+|in\s+)?(?<!/)(?:mwh|(?P<gwh>gwh)|(?P<twh>twh))\b(?:\s*,)?")
# the CMO's own unit: "em R$/MWh" says nothing about the aggregate
_PRICE_UNIT = rx(r"(?:\b(?:em|in)\s+)?r\$\s*/\s*mwh\b")
_ENERGY_SCALE = {"gwh": 1000, "twh": 1_000_000}
# "em GW", "how many GW was it": a power (or a mean power) in thousands of MW; after a number it
# is a threshold's unit, read with the threshold
_GW = rx(
    r"(?:,\s*)?(?<!\d)(?<!\d\s)\b(?:em\s+|in\s+)?(?:gw\s*med(?:ios)?|gw\s*avg|gwavg|gw)\b(?:\s*,)?"
)
_MWMED = rx(
    r"(?:,\s*)?\b(?:em\s+|in\s+)?(?:mw\s*med(?:ios)?|mw\s+medios|(?:average|avg)\s+mw|mw\s*avg"
    r"|mwavg)\b(?:\s*,)?"
)
# a profile over many days (the mean of each hour of the day, a typical day): each hour's values
# combined over the days of the period (QueryModel.by_hour_of_day)
_DAY_PROFILE = rx(
    r"\b(?:(?:by|per|for\s+each|across)\s+(?:the\s+)?)?hours?[\s-]+of[\s-]+(?:the[\s-]+)?day\b"
    r"|\b(?:(?:por|em\s+cada|para\s+cada|n?as|n?os)\s+)?(?:horas?|horarios?)\s+do\s+dia\b"
    r"|\b(?:perfil|curva)\s+(?:horari[oa]\s+)?(?:medi[oa]|tipic[oa])\b|\bdia\s+tipico\b"
    r"|\b(?:typical|average)\s+(?:daily\s+)?(?:profile|day|shape)\b"
    r"|\b(?:daily|hourly)\s+(?:profile|shape)\b"
    # "the average hourly load profile", "perfil horário de carga": the measure may stand between
    r"|\b(?:typical\s+|average\s+)?hourly\s+(?=(?:[\w-]+\s+){1,3}(?:profile|shape)\b)"
    r"|\bperfil\s+horario\b"
    # "the typical daily load curve": the measure stands between, "curve" is taken after
    r"|\btypical\s+(?:daily\s+)?(?=[\w-]+\s+(?:curve|shape)\b)"
    r"|(?<=\baverage\s)daily\s+(?=[\w-]+\s+(?:curve|shape)\b)"
    r"|\bcurva\s+(?:diaria\s+)?tipica\b|\bcurva\s+de\s+(?=[\w-]+\s+(?:diaria\s+)?tipica\b)"
    # "at what time of day does it peak?": the hours of the day compared
    r"|\b(?:at\s+)?(?:what|which)\s+(?:time|hour)\s+of\s+(?:the\s+)?day\b"
    r"|\b(?:average|mean|typical)\s+hour[\s-]by[\s-]hour\b"
)
# "por dia da semana", "by day of the week": each weekday over the weeks of the period ("dias
# de semana" / "weekdays" are Monday to Friday, read by the periods)
_WEEK_PROFILE = rx(
    # "perfil semanal", "weekly profile": the days of the week compared, not weekly windows
    r"\b(?:perfil|padrao|curva)\s+semanal\b|\bweekly\s+(?:profile|pattern|shape)\b"
    r"|\bweekly\s+(?=(?:[\w-]+\s+){1,3}(?:profile|pattern|shape)\b)"
    r"|\b(?:(?:por|para\s+cada|em\s+cada|de\s+cada)\s+dia\s+da\s+semana"
    r"|(?:by|per|for\s+each)\s+(?:the\s+)?(?:day\s+of\s+(?:the\s+)?week|weekday))\b"
)
# "which weekday had the lowest load?", "qual dia da semana tem a maior carga?": the weekdays
# compared, the profile shows which
_WHICH_WEEKDAY = rx(
    r"\b(?:(?:em\s+)?(?:qual|que)\s+dia\s+da\s+semana"
    r"|(?:on\s+)?(?:which|what)\s+(?:weekday|day\s+of\s+(?:the\s+)?week))\b"
    # "qual dia da semana passada": which day of last week, a ranking of its days
    r"(?!\s+(?:passada|retrasada|atual|anterior|que\s+vem))"
)
_PRICIEST = rx(
    r"\b(?:mais\s+car[oa]s?|mais\s+barat[oa]s?|priciest|cheapest|most\s+expensive|cheaper"
    r"|pricier|more\s+expensive)\b"
)
_FULLEST = rx(r"\b(?:fullest|emptiest|mais\s+chei[oa]s?|mais\s+vazi[oa]s?)\b")
# "quanto a carga passou de 80 GW?": by how much a threshold was exceeded
_EXCESS = rx(
    r"\b(?:quant[oa]|by\s+how\s+much|how\s+much)\b[^?.!]*\b(?:passou|ultrapassou|superou"
    r"|excedeu|exceed(?:ed)?|(?:go|went)\s+(?:over|above)|surpass(?:ed)?)\b"
)
_WH_WORD = rx(
    r"\b(?:quant[oa]s?|que\s+horas?|em\s+que|quais|qual|which|what|when|quando|how|where|onde)\b"
)
_ADDED = rx(r"\+|\b(?:somad[oa]s?|plus)\b")
# "wind and solar together", "eólica e solar juntas": the sources named, added
_TOGETHER = rx(
    r"(?:\s+(?:generation|geracao|energy|energia|power))?\s+(?P<w>together|combined|juntas?|juntos?"
    r"|somad[oa]s|combinad[oa]s)\b"
)
_AND_JOIN = rx(r"\b(?:and|e)\b|,")
_LAST_TIME = rx(
    r"\b(?:(?:when\s+was|when's|when\s+did)\s+)?the\s+(?:last|most\s+recent|first)\s+time"
    r"(?:\s+(?:that|when))?\b"
    r"|\b(?:quando\s+(?:foi|aconteceu)\s+)?a\s+(?:ultima|primeira)\s+vez(?:\s+(?:em\s+)?que)?\b"
)
_PROFILE_EXTREME = rx(
    r"\b(?:(?:the|a|o)\s+)?(?:highest|lowest|largest|smallest|biggest|maior|menor"
    r"|mais\s+alt[oa]|mais\s+baix[oa]|cheapest|dearest|mais\s+barat[oa]|mais\s+car[oa])\b"
)
_RANK_THEM = rx(
    r"\b(?:rank(?:ed)?\s+(?:them|all(?:\s+of\s+them)?)|(?:ordene|ordenar)(?:\s+(?:eles|elas))?)\b"
    r"(?!\s+(?:by|por|pel[oa])\b)"
)
_AVERAGE_WORD = rx(r"\b(?:average|mean|avg|media|medio)\b")
_MORE_OR_LESS = rx(r"\b(?:mais|menos|more|less|most|least)\b")
# "which hour of the day …", "em que horário do dia …": one of the profile's hours asked
_WHICH_HOUR = rx(
    r"\b(?:what|which|qual|que|em\s+que)\s+(?:time|hour|hora|horario)s?\s+(?:of|do)\s+"
    r"(?:the\s+)?(?:day|dia)\b"
)
_PROFILE_PEAK = rx(
    r"\b(?:ger(?:a|am)|produz(?:em)?|consome(?:m)?)\s+mais\b"
    r"|\b(?:generates?|produces?|consumes?)\s+(?:the\s+)?most\b|\bpeaks?\b"
    r"|\b(?:tem|faz|atinge|chega\s+ao)\s+(?:o\s+|seu\s+)?picos?\b|\bmost\s+(?:low|high)\b"
    # "at what hour is it highest?", "em que hora fica mais alto?"
    r"|\b(?:at\s+)?(?:what|which)\s+(?:hour|time)\s+(?:is\s+it|does\s+it|it\s+is)?\s*"
    r"(?:highest|lowest|peak|the\s+highest|the\s+lowest)\b"
    r"|\b(?:em\s+)?que\s+hora(?:rio)?\s+(?:e|fica|esta)?\s*(?:o\s+|a\s+)?(?:maior|menor|mais\s+alt[oa]"
    r"|mais\s+baix[oa]|pico)\b"
)
# a condition on the values ("acima de 200 R$/MWh", "below 50%"): points kept before aggregating
_CONDITION = rx(
    # "geração > 0": a sign after a word needs no word boundary
    r"(?:\b|(?=[<>]))(?:(?:ficou|ficaram|esteve|estiveram|foi|foram|was|were|stayed|been|is|are)\s+)?"
    r"(?P<op>acima\s+d[eo]|abaixo\s+d[eo]|maior(?:es)?\s+(?:que|do\s+que)|menor(?:es)?\s+(?:que"
    r"|do\s+que)|superior(?:es)?\s+a|inferior(?:es)?\s+a|above|below|greater\s+than|less\s+than"
    r"|more\s+than|higher\s+than|lower\s+than|exceed(?:ed|ing|s)?|ultrapass\w+|super(?:ou|aram|ar|a)"
    r"|pass(?:ou|aram|a|am|ar)\s+d[eo]|went\s+(?:above|over)|gone\s+(?:above|over)|over|under"
    r"|beneath"
    r"|>=|<=|>|<)\s*(?:r\$\s*)?"
    # a multiplier as people write it: "20 mil MW", "20k", "1,5 thousand", "2 milhões"
    r"(?P<n>-?\d+(?:[.,]\d+)*)(?:\s*(?P<scale>mil|k|thousand|milh(?:ao|oes)|millions?)\b)?"
    r"(?:\s*(?:r\$\s*/\s*mwh|/\s*mwh|reais|mw\s*med(?:ios)?|mw\s*avg|mwavg|mw|mwh"
    r"|(?P<giga>gw\s*med(?:ios)?|gw\s*avg|gw)|%))?"
    r"(?!\s*(?:horas?|hours?|dias?|days?|semanas?|weeks?|meses|months?|anos?|years?|usinas?"
    r"|plants?|%?\s*d[ao]s?\b))(?![\w%])"
)
_ZERO = rx(
    r"\b(?:(?:ficou|ficaram|esteve|estiveram|estava|was|were|stayed|been|is|are)\s+)?(?:zerad[oa]s?"
    r"|(?:(?:chegou|chegaram)\s+a\s+)?zer(?:ar|ou|aram)|(?:hit|reach(?:ed)?|went\s+to|dropped\s+to)"
    r"\s+zero"
    r"|parad[oa]s?|(?:at|em)\s+zero|sem\s+gerar|without\s+(?:output|generation)"
    r"|with\s+(?:no|zero)\s+(?:output|generation)|offline"
    # "producing nothing", "não gerou nada": a plant's output at zero
    r"|(?:producing|generating|produced|generated|gerando|produzindo)\s+(?:nothing|nada)"
    r"|(?:nao\s+)?(?:gerou|produziu|gerava|produzia)\s+nada)\b"
    # "at zero or negative", "zerado ou negativo": the same condition, at or below zero
    r"(?:\s+(?:or|ou)\s+(?:negative|negativ[oa]s?|below(?:\s+zero)?|abaixo(?:\s+de\s+zero)?))?"
)
# a condition right after the plants names their size, not their generation
_PLANT_SIZE = re.compile(r"\b(?:usinas?|plants?|parques?|geradoras?)\s+(?:com\s+|with\s+)?$")
# "quais usinas …" with a condition: a list of the plants that meet it
_WHICH_ENTITIES = re.compile(
    r"\b(?:quais|which)\s+(?:\w+\s+)?(?:usinas?|plants?|subsistemas?|subsystems?|estados?|states?)\b"
)
# the comparison of each condition word, by its stem: every inflection the pattern admits
# ("maiores", "ultrapassa", "exceeds") has one; ">=" before ">"
_CONDITION_OPS = {
    ">=": ">=", "<=": "<=", ">": ">", "<": "<",
    "acima": ">", "above": ">", "maior": ">", "superior": ">", "super": ">", "greater": ">",
    "more": ">", "higher": ">", "exceed": ">", "ultrapass": ">", "pass": ">", "went": ">",
    "gone": ">", "over": ">",
    "abaixo": "<", "below": "<", "menor": "<", "inferior": "<", "less": "<", "lower": "<",
    "under": "<", "beneath": "<",
}  # fmt: skip
# a count of time steps ("quantas horas", "how many half-hours"): those that meet a condition
_COUNT_STEPS = rx(
    r"\b(?:(?:em|in)\s+)?(?:quant[oa]s|how\s+many|numero\s+de|number\s+of"
    # "count the days … on which", "conte os dias em que": the same count, as an order
    r"|count\s+(?:of\s+)?the|cont(?:e|ar|a)\s+(?:os|as))\s+(?:(?P<half>meias?"
    r"[\s-]+horas|half[\s-]+hours|(?:intervalos|periodos)\s+(?:semi[\s-]?horarios|de\s+meia\s+hora)"
    r"|half[\s-]+hour(?:ly)?\s+(?:intervals|periods))|(?P<hour>horas|hours|(?:intervalos|periodos)"
    r"\s+horarios|hourly\s+(?:intervals|periods))|(?P<day>dias|days))"
    r"(?P<data>\s+(?:de\s+dados|of\s+data|com\s+dados|with\s+data))?\b"
)
# how many plants / subsystems / states there are: a register, not a measure of the data
_ENTITY_COUNT = rx(
    r"\b(?:quant[oa]s|how\s+many|numero\s+de|number\s+of|count\s+of)\s+(?:(?:as|os|the)\s+)?"
    # "how many solar PV plants": a few describing words, never a unit or a verb between
    r"(?:(?!(?:did|do|does|were|was|are|is|have|has|of|de|[kmgt]wh|[mg]w|mwmed|hours?|horas?"
    r"|dias?|days?|times?|vezes)\b)[a-z-]+\s+){0,3}"
    r"(?:usinas?|plantas?|plants?|power\s+(?:plants?|stations?)|parques?|geradoras?"
    r"|subsistemas?|subsystems?|estados?|states?)\b"
)
# questions the data cannot answer as asked, refused with the reason before anything is read
_REFUSED: list[tuple[re.Pattern[str], str, str, tuple[str, ...]]] = [
    (
        # "the only subsystem with CMO above 500": which ones meet a condition
        rx(
            r"\b(?:the\s+only|(?:o|a)\s+unic[oa]|(?:os|as)\s+unic[oa]s)\s+(?:subsystems?|plants?"
            r"|states?|sources?|regions?|ones?|subsistemas?|usinas?|estados?|fontes?|regioes?)\b"
        ),
        "combination",
        "which ones meet a condition is not computed: ask for each one's values",
        (),
    ),
    (
        _ENTITY_COUNT,
        "measure",
        "how many plants, subsystems or states there are is not a measure of the data: ask for "
        "their generation or load, or for the top N plants",
        (),
    ),
]
_AMOUNT = rx(r"\b(?:quant[oa]s?|how\s+much)\b")
# "Jirau or Santo Antônio - which generated more?", "quem gerou mais, A ou B?": a choice between
# the things named ("ou"/"or" joins them), the comparison read from their values
_WHICH_OF_THE_NAMED = rx(
    r"\b(?:which|qual|(?P<who>quem|who))\b(?P<between>(?:\s+[\w-]+){0,3}?)\s+(?:(?P<more>more"
    r"|mais|less|menos)|(?P<cmp>maior|menor|higher|lower|bigger|smaller|larger))\b"
    r"(?!\s+(?:than|que|do\s+que|de)\b)"
)
# the things a "which" may rank: "qual subsistema teve a carga maior" ranks, it names no option
_ENTITY_NOUN = rx(
    r"\b(?:fontes?|sources?|usinas?|plants?|subsistemas?|subsystems?|estados?|states?|regi\w+"
    r"|tipos?|types?|dias?|days?|mes(?:es)?|months?|anos?|years?|horas?|hours?)\b"
)
_OR = rx(r"\b(?:or|ou)\b")
_WHO = rx(r"\bquem\b")  # "who" is read as a question word already
# "how high did it go?", "how low did the SE EAR get": the extreme reached
_HOW_HIGH = rx(
    r"\bhow\s+(?P<dir>high|low)\s+(?:did|does|has)\b"
    r"(?=(?:\s+[\w-]+){0,4}?\s+(?P<verb>go|get|gone|got|climb|reach|fall|drop|run)\b)"
)
# a state at zero (stopped, offline, "ficou zerado"), not the event of reaching it ("zerou")
_BELOW_A_NUMBER = rx(
    r"\b(?:abaixo|menos|inferior|below|under|less\s+than|lower\s+than)\b[^?.!]{0,12}\d"
)
_SIGN = rx(r"\b(?:(?P<neg>negativ[oa]s?|negative)|positiv[oa]s?|positive)\b")
_STATE_ZERO = rx(
    r"\b(?:parad[oa]s?|offline|sem\s+gerar|without\s+(?:output|generation)|with\s+(?:no|zero)"
    r"\s+(?:output|generation)|(?:producing|generating)\s+nothing|(?:nao\s+)?ger\w*\s+nada"
    r"|(?:ficou|ficaram|esteve|estiveram|stayed|remained)\s+(?:zerad[oa]s?|at\s+zero|em\s+zero))\b"
)
# all of a counted day: "dias inteiros", "the whole day", "in every hour", "o tempo todo"
# "dias inteiros", "whole days": the days counted, each all through (read on the question as
# written: "dias" is taken by the count before); "the whole of 2023" is the period, never this
_WHOLE_DAYS = rx(
    r"\bdias\s+(?P<w>inteiros|completos)\b(?!\s+(?:de|com)\s+dados)"
    r"|\b(?P<w2>whole|entire|full)\s+days?\b(?!\s+(?:of|with)\s+data)"
    r"|\bdays\s+(?P<w3>whole|entire)\b"
)
_ALL_DAY = rx(
    r"\b(?:o\s+dia\s+(?:todo|inteiro)"
    r"|(?:o\s+)?tempo\s+todo|em\s+todas\s+as\s+horas|(?:in\s+)?every\s+hour|all\s+day(?:\s+long)?"
    r"|(?:the\s+)?(?:whole|entire)\s+day|throughout\s+the\s+day|sempre|always)\b"
)
# "higher than the Southeast's", "maior que o do Sudeste": one value compared with another's
_THAN_THE_OTHER = rx(
    r"\b(?:(?:higher|greater|bigger|lower|smaller|maior|menor|superior|inferior|mais\s+alt[oa]"
    r"|mais\s+baix[oa])\s+(?:than|que|do\s+que|a)|(?:above|below)|(?:acima|abaixo)\s+d[eoa])"
    r"(?:\s+(?:o\s+d[oa]|a\s+d[oa]|that\s+of|the|d[oa]|o|a))?(?=\s)"
)
# "of any single wind farm", "de uma única usina": one plant, whichever reached the extreme
# the stored points, unaggregated ("raw hourly load", "a série bruta"); not the ENA's "bruta"
_RAW = rx(
    r"\b(?:raw|unaggregated)\b"
    r"|(?<=serie\s)bruta\b(?!\s+d[ae]\s+(?:ena|energia\s+natural))"
    r"|(?<=dados\s)brutos\b|(?<=valores\s)brutos\b"
)
_ANY_SINGLE = rx(
    r"\b(?:any|a)\s+(?:single|one|individual)(?=\s+(?:[\w-]+\s+)?(?:plants?|farms?|parks?"
    r"|stations?|units?))"
    r"|\bany(?=\s+(?:(?:wind|solar|hydro|thermal|power)\s+)?(?:plants?|farms?|parks?|stations?))"
    r"|\b(?:qualquer|uma\s+(?:unica|so)|um\s+(?:unico|so))(?=\s+(?:usinas?|parques?))"
)
# an amount of energy named as such: "energia exportada", "energy imported", "net exports"
_AMOUNT_NOUN = rx(
    r"\b(?:(?:energia|energy)\s+(?:exportada|importada|gerada|produzida|consumida|recebida"
    r"|enviada|exported|imported|generated|produced|consumed|received|sent)"
    r"|(?:net\s+)?(?:exports|imports)|exportac(?:ao|oes)|importac(?:ao|oes))\b"
)
# how a stock moved over one period ("caiu", "subiu", "variou", "changed by")
_STOCK_CHANGE = rx(
    r"\b(?:caiu|cairam|subiu|subiram|variou|variaram|aumentou|diminuiu|recuou|fell|rose|dropped"
    r"|increased|decreased|changed|grew|gained(?:\s+or\s+lost)?|lost(?:\s+or\s+gained)?"
    r"|ganhou(?:\s+ou\s+perdeu)?|perdeu(?:\s+ou\s+ganhou)?)\b"
)
_SPLIT_BY_SOURCE = rx(r"\b(?:separad[oa]s?\s+por\s+fonte|(?:broken\s+down|split)\s+by\s+source)\b")
# an aggregate named before a copula and a condition: the aggregate is what is compared
_OF_AGGREGATE = rx(
    r"\b(?:medi[ao]s?|average|mean|avg|total|soma|sum|maxim[oa]|minim[oa]|max|min|pico|peak)\b"
    r"(?![^?.!]*\b(?:quando|when|em\s+que|in\s+which|que|that|where)\b)[^?.!]*$"
)
_COPULA = rx(r"\s*(?:foi|foram|was|were|is|are|esteve|ficou|ficaram)\b")
_COPULA_BEFORE = rx(
    r"\b(?:foi|foram|was|were|is|are|esteve|ficou|ficaram)(?:\s+(?:it|ela|ele|they|isso|this))?\s*$"
)
# a question answered yes or no ("did it …?", "chegou a …?", "houve …?")
_YES_NO = rx(
    r"^\s*(?:did|was|were|has|have)\b|\b(?P<reach>(?:chegou|chegaram)\s+a)\b"
    r"|\b(?:ficou|ficaram|esteve|estiveram)\b|\b(?P<ever>ever|alguma\s+vez)\b"
    # "a carga passou de 50 mil ontem?": a past condition, asked
    r"|\b(?P<passed>passou|passaram|superou|superaram|ultrapassou|ultrapassaram)\b(?=[^?]*\?\s*$)"
    r"|\b(?P<when>(?:houve|teve|there\s+(?:was|were))\s+(?:alguma?\s+|any\s+)?(?:hora|dia|momento"
    r"|hour|day|moment|time)s?\s+(?:com|em\s+que|when|with|in\s+which))"
)
_VALUE_ASKED = rx(r"\b(?:qual|quanto|what|how\s+much)\b")
# a series asked step by step ("dia a dia", "por hora", "for each day")
_EACH_STEP = rx(
    r"\b(?:dia\s+a\s+dia|hora\s+a\s+hora|mes\s+a\s+mes|semana\s+a\s+semana"
    r"|por\s+(?:dia|hora|mes|semana)|(?:per|each|every|by)\s+(?:day|hour|month|week))\b"
)
# "higher in January or in February?": which of the periods named, compared
_WHICH_MORE = rx(
    r"\b(?:higher|lower|bigger|smaller|larger|greater)(?=\s+(?:in|on|during)\b[^?.!]*\bor\b)"
)
# the bare verb after "did" ("how much did SE storage fall"): how a stock moved too
_STOCK_VERB = rx(r"\b(?:fall|rise|drop|change|grow|increase|decrease)\b")
_POINTS = rx(r"\b(?:em\s+)?(?:pontos?\s+percentua(?:l|is)|p\.?p\.?|percentage\s+points?)\b")
# "o acumulado do mês": the total so far
# "quanto gerou em média por dia em outubro": one figure, the period's mean day (not each day)
_PER_DAY_AVERAGE = rx(
    r"\b(?:em\s+media\s+por\s+dia|por\s+dia\s*,?\s+em\s+media|on\s+average\s+(?:per|a|each)\s+day"
    r"|(?:per|a)\s+day\s*,?\s+on\s+average|average\s+per\s+day)\b"
)
# "quanto gerou em média por hora": hourly values' mean over the period (MWmed), not each hour
_PER_HOUR_AVERAGE = rx(
    r"\b(?:em\s+media\s+por\s+hora|por\s+hora\s*,?\s+em\s+media|on\s+average\s+(?:per|an|each)"
    r"\s+hour|(?:per|an)\s+hour\s*,?\s+on\s+average|average\s+per\s+hour)\b"
)
_TO_DATE = rx(r"\bacumulad[oa]\s+d[oa]\s+(?:mes|ano|semana)\b")
_ENERGY_VERB = rx(
    r"\b(?:ger(?:ou|aram)|produz(?:iu|iram)|consum(?:iu|iram)|export(?:ou|aram|ed|s)?"
    r"|import(?:ou|aram|ed|s)?|receb(?:eu|eram)|envi(?:ou|aram)|generated|generate|produced"
    r"|produce|consumed|consume|received|receive|sent|send)\b|\b(?:energia|energy)\b"
)
_ASKS_VALUE = rx(
    r"^\W*(?:(?:e|and|entao|so)\s+)?(?:qual|quais|quanto|quanta|quantos|quantas|what|how|which"
    r"|como|quando|when|em\s+que|at\s+what)\b"
)
# "YTD", "month-to-date": a figure to date (a total of what adds up, else the period's mean)
_YEAR_TO_DATE = rx(r"\b(?:ytd|mtd|(?:year|month)[\s-]+to[\s-]+date)\b")
# "was it importing or exporting?": one figure over the period, whose sign says it
_WHICH_WAY = rx(
    r"\b(?:(?:was|is|were|are)\s+(?:it|they)\s+)?(?:(?:net\s+)?(?:importing|exporting"
    r"|an?\s+(?:net\s+)?(?:importer|exporter))|(?:(?:foi|era|estava|esta|ficou)\s+)?"
    r"(?:importador|exportador|importando|exportando)a?|importou|exportou|imported|exported)"
    r"\s+(?:ou|or)\s+(?:net\s+)?(?:importing|exporting"
    r"|(?:an?\s+)?(?:net\s+)?(?:importer|exporter)|(?:importador|exportador|importando|exportando)a?"
    r"|importou|exportou|imported|exported)"
    r"(?:\s+(?:of\s+)?(?:electricity|energy|power|energia))?\b"
)
_SERIES_WORDS = rx(
    r"\b(?:mostre|mostrar|exiba|exibir|liste|listar|show|list|display|plot|grafico|serie"
    r"|curva|evolucao|perfil|trajetoria|ao\s+longo\s+d[eoa]s?|over\s+the\s+course\s+of|throughout"
    r"|como\s+(?:\w+\s+){0,6}?(?:variou|variaram|evoluiu|evoluiram|oscilou|oscilaram"
    r"|se\s+comport\w+)"
    r"|how\s+did\s+(?:\w+\s+){1,6}?(?:vary|evolve|develop|behave))\b"
)
_BETWEEN_SUBSYSTEMS = rx(r"\b(?:entre|between)(?:\s+(?:o|a|the))?\s*$")
_FROM_TO = rx(r"\b(?:de|do|da|from)(?:\s+(?:o|a|the))?\s*$")
_TO = rx(r"^\s*(?:para\s+o|para\s+a|para|pro|pra|ao|a|to|into|->|→)(?:\s+(?:o|a|the))?\s*$")


# between two subsystem codes: an arrow gives the direction ("N->SE"); a hyphen or slash names
# the interconnection ("NE-SE", "N/SE"), both directions
VERIFIED_INTERCHANGE, SCHEDULED_INTERCHANGE = "val_intercambiomwmed", "val_intercambioprogmwmed"


# aggregates that may be asked together of one measure ("média e máximo")
_SEVERAL = frozenset(
    {
        Aggregation.MEAN,
        Aggregation.MAX,
        Aggregation.MIN,
        Aggregation.SUM,
        Aggregation.MEDIAN,
        Aggregation.STDDEV,
        Aggregation.SPREAD,
        Aggregation.COUNT,
    }
)
# the other end of a ranking, right after its superlative ("the highest and the lowest")
_OTHER_END = re.compile(
    r"\s*(?:e|and)\s+(?:(?:a|o|the)\s+)?(?:(?P<down>menor|lowest|smallest|least)"
    r"|(?P<up>maior|highest|largest|most))\b"
)
_AGG_NOUN = re.compile(
    r"(?:valor\s+)?(?:medi[ao]s?|average|avg|means?|em\s+media|maxim[oa]s?|max|maximum|minim[oa]s?"
    r"|min|minimum|soma|total|sum|mediana|median|desvio[\s-]+padrao|standard\s+deviation|std\s*dev"
    r"|stddev|amplitude|spread|contagem|count)"
)
_PLUS = re.compile(r"[\wÀ-ÿ]\s*\+\s*[^\W\d]")
# "Mon+Tue": days of the week named together, no series added
_DAY_WORD = (
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|segunda|terca|quarta|quinta"
    r"|sexta|sabado|domingo)s?(?:[\s-]feiras?)?"
)
_WEEKDAYS_ADDED = re.compile(  # whole day names only: "Belo Monte + X" names no Monday
    rf"\b{_DAY_WORD}(?:\s*\+\s*{_DAY_WORD})+\b", re.IGNORECASE
)
# between two measures: the second taken from the first ("load minus wind", "carga menos eólica";
# a hyphen may join a pair's names: "wind - solar comparison")
_LESS = rx(r"\s*,?\s*(?P<op>minus|menos|−)\s+(?:(?:a|o|the)\s+)?(?:geracao\s+|generation\s+)?")
# "percent of hydro generation …", "% da geração solar …": a source's own total as the whole
_SHARE_OF_SOURCE = rx(
    # (a "share of wind", "participação da eólica" names the part: not this)
    r"(?:\bpercent(?:age)?\s+of"
    # "isso representa quantos % da eólica do Nordeste": the whole is what follows
    r"|\b(?:representa[mv]?|equivalem?|correspondem?|is|was|are|were|e|eh|sao|foi)\s+(?:a\s+)?"
    r"(?:quant[oa]s?|qual|que|what|how\s+many)?\s*(?:%|por\s*cento|percent(?:ual)?)\s+(?:d[aoe]s?|of))\s+"
    r"(?:(?:the|a|o)\s+)?(?:(?:sin|brazil|brazilian|country|national|total|se|ne|s|n)\s+){0,2}"
    r"(?:hydro\w*|hidr\w*|wind|eolic\w*|solar\w*|fotovolt\w*"
    r"|thermal|term\w*|nuclear\w*)\b"
)
_NET_LOAD = rx(r"\b(?:net\s+load|carga\s+liquida|demanda\s+liquida)\b")
# plants added together: "Angra 1 + Angra 2", "somadas", "combined"
_COMBINED = re.compile(
    r"\w\s*\+\s*\w|\b(?:somad[oa]s|junt[oa]s|combined|together|in\s+total|no\s+total)\b",
    re.IGNORECASE,
)
# "Export/Download hourly generation …", "Exporte a carga …": the verb of a request, not the
# interchange ("export of the NE", "exportação do NE" stay the interchange)
_DOWNLOAD_VERB = re.compile(
    r"\s*(?:please\s+|por\s+favor,?\s+)?(?:export|download|exporte|exportar|baixe|baixar)\s+"
    r"(?:(?:me|the|a|o|os|as|all|todos|todas)\s+)?(?=(?:[\w-]+\s+){0,2}(?:generation|geracao"
    r"|geração|load|carga|cmo|data|dados|values|valores|series|ear|ena|output))",
    re.IGNORECASE,
)
# "Angra 1 e 2", "Pecém I and II": two plants of one name, numbered
_NUMBERED_PAIR = re.compile(
    r"(?P<stem>(?:[^\W\d_][\w'-]*\s+){0,3}[^\W\d_][\w'-]*)\s+(?P<a>\d{1,2}|[IVX]{1,4})\s+"
    r"(?P<join>e|and|&)\s+(?P<b>\d{1,2}|[IVX]{1,4})\b"
)
_COMBINED_WORD = rx(r"\b(?:somad[oa]s|junt[oa]s|combined|together)\b")
_SEPARATELY = rx(
    r"\b(?:(?:reported\s+|given\s+|shown\s+)?separately|separadamente|respectively"
    r"|(?:cada\s+uma|each\s+one)(?:\s+(?:separadamente|separately))?)\b"
)
# "a diferença entre o programado e o verificado", "deviation from schedule"
# "e qual foi a diferença?", "how much more?": the difference of the two named
_HOW_MUCH_APART = rx(
    r"\b(?:(?:a|the|qual\s+(?:foi\s+)?a|what\s+(?:was|is)\s+the)\s+)?(?:diferenca|difference|gap)\b"
    r"|\b(?:how\s+much\s+more|quanto\s+a\s+mais|by\s+how\s+much)\b"
)
_FIELD_DIFFERENCE = rx(
    r"\b(?:diferencas?|differences?|desvios?|deviations?|gap|minus|menos"
    # "how far was the verified from the programmed one?": their difference
    r"|how\s+far(?:\s+(?:was|is|were|are|did))?|quao\s+long[ei])\b"
)


def _with_difference(st: _State, selections: list[Selection], agg: Aggregation) -> None:
    """Scheduled and verified interchange asked with "diferença": their difference beside them
    (verified − scheduled). Only for means and totals: a difference of maxima is no maximum."""
    found = st.text.take(_FIELD_DIFFERENCE) if st.both_interchanges else []
    if not found or len(selections) != 2:
        return
    if agg not in (Aggregation.MEAN, Aggregation.SUM):
        shown = st.text.original(found[0].start(), found[0].end())
        reason = "the difference of scheduled and verified is given for means and totals"
        st.unmapped.append(Unmapped("combination", shown, reason))
        return
    if re.search(r"percent|%", st.text.norm):
        shown = st.text.original(found[0].start(), found[0].end())
        st.unmapped.append(
            Unmapped("combination", shown, "the difference is given in MWmed, not %")
        )
        return
    verified, scheduled = (s.expr for s in selections)
    selections.append(
        Selection(BinOp("-", verified, scheduled), "difference_verified_minus_scheduled")
    )
    st.assumptions.append("the difference is verified minus scheduled")


def _interchange_fields(st: _State, keys: list[str]) -> list[str]:
    """The interchange fields asked: verified, scheduled ("programado") or both."""
    if st.both_interchanges:
        return [VERIFIED_INTERCHANGE, SCHEDULED_INTERCHANGE]
    return [SCHEDULED_INTERCHANGE if "interchange_scheduled" in keys else VERIFIED_INTERCHANGE]


def _name_key(name: str) -> str:
    """A name as it is matched: without case, accents or repeated spaces."""
    return " ".join(fold(name).split())


def _bare_to(before: str, between: str) -> bool:
    """ "North to Southeast interchange": "to" alone between two subsystems gives a direction,
    unless they are compared ("compare North to Southeast")."""
    return bool(_TO.match(between)) and not re.search(r"\b(?:compar\w*|vs|versus)\b", before)


_ARROW = re.compile(r"^\s*(?:->|-->|=>|→|⟶|>)\s*$")
_PAIR = re.compile(r"^\s*(?:-|–|—|/)\s*$")
_AND = rx(r"^\s*(?:e|and|x|vs\.?|versus|com|with|,|-)(?:\s+(?:o|a|the|do|da))?\s*$")

_EXPORT_VERB = rx(
    r"\b(?:export(?:ou|aram|a|am|ava|ando|ed|s|ing)?|envi(?:ou|aram|a|am)|sent|sends?|send"
    r"|mand(?:ou|aram)|forneceu|supplied|transferiu|transferred)\b"
)
_IMPORT_VERB = rx(
    r"\b(?:import(?:ou|aram|a|am|ava|ando|ed|s|ing)?|receb(?:eu|eram|e|em)|received|receives?)\b"
)
# "quantas horas … ficou exportando", "how many hours was it importing"
_HOURS_WHILE = rx(r"\b(?:quantas|how\s+many)\s+(?:horas|hours)\b")
_EXPORT_NOUN = rx(r"\b(?:exportac(?:ao|oes)|exports?|envio)\b")
_IMPORT_NOUN = rx(r"\b(?:importac(?:ao|oes)|imports?|recebimento)\b")
_PARTNER_TO = re.compile(r"\b(?:para|pro|pra|ao|a|to|into|towards)(?:\s+(?:o|a|the))?\s*$")
_BY_WORDS = r"^(?:\s+(?:liquid[oa]s?|net|total|media|de\s+energia|of\s+energy|energy))*"
_PARTNER_BY = re.compile(
    _BY_WORDS + r"\s+(?:pel[oa]|n[oa]|by|in|of)(?:\s+(?:o|a|the))?"
    r"(?:\s+(?:regiao|subsistema|region|subsystem))?\s*$"
)
_NOTHING_BETWEEN = re.compile(_BY_WORDS + r"\s*$")
_LEADS_BY = re.compile(r"(?:pel[oa]|n[oa]|in|of)\s")
_PARTNER_FROM = re.compile(r"\b(?:do|da|de|from|vind[oa]\s+d[oa])(?:\s+(?:o|a|the))?\s*$")

# legacy platform (generation_data, consumption_data, transmission_data)
_CONSUMER_TYPES = {"res": "residential", "ind": "industrial", "com": "commercial"}
_TYPES = r"residencia(?:l|is)|industria(?:l|is)|comercia(?:l|is)|residential|industrial|commercial"
_CONSUMER = rx(
    r"\b(?:(?:consumo|consumidores|clientes|demanda|carga|classe)\s+(?P<c1>" + _TYPES + r")"
    r"|(?P<c2>" + _TYPES + r")\s+(?:consumption|consumers|customers|demand|load|sector)"
    r"|(?:for|of|dos|para|de)\s+(?:the\s+|os\s+)?(?P<c3>" + _TYPES + r")\s+(?:consumers"
    r"|consumidores|customers))\b"
)
_BY_CONSUMER = rx(
    r"\b(?:por|by|per|each|para\s+cada|for\s+each)\s+(?:tipo|classe|type|class)\s+(?:de\s+)?"
    r"(?:consumidor|consumidores|consumo|consumer|consumers|consumption)"
    r"|\b(?:por|by)\s+consumer\s+types?\b"
)
_TRANSMISSION = rx(
    r"\b(?:(?:fluxos?|flows?|intercambio)\s+(?:n[ao]s?|d[ao]s?|in\s+the|on\s+the|of\s+the|through"
    r"\s+the)\s+)?(?:linhas?\s+de\s+transmissao|transmission\s+lines?|transmissao|transmission)"
    r"(?:\s+(?:flows?|fluxos?|data|dados))?\b"
)
_LEGACY_MARK = rx(
    r"\b(?:(?:n[oa]s?|d[oa]s?|in\s+the|on\s+the|from\s+the)\s+)?(?:plataforma\s+(?:antiga|legada"
    r"|anterior)|dados\s+legados|tabelas?\s+legadas?|legacy(?:\s+(?:platform|data|tables?))?"
    r"|old\s+platform|(?P<table>generation_data|consumption_data|transmission_data))\b"
)
# over all the data: "ever", "all-time", "de todos os tempos", "máximo histórico"
_ALL_TIME = rx(
    r"\b(?:(?:de\s+)?todos\s+os\s+tempos|all[\s-]time|of\s+all\s+time|ever(?:\s+recorded)?"
    # "a maior carga já registrada", "já vista": the record, over all the data
    r"|ja\s+(?:registrad[oa]s?|vist[oa]s?|observad[oa]s?|medid[oa]s?)"
    r"|since\s+records\s+began|em\s+toda\s+a\s+(?:serie|historia)"
    r"|(?<=maximo\s)historico|(?<=maxima\s)historica|(?<=minimo\s)historico"
    r"|(?<=minima\s)historica|(?<=recorde\s)historico)\b"
)
_SCHEDULED_WORD = rx(r"\b(?:programad[oa]s?|scheduled|programmed|previst[oa]s?|planned)\b")
_VERIFIED = rx(r"\b(?:verificad[oa]s?|verified|realizad[oa]s?|observad[oa]s?|actual|measured)\b")
_LEGACY_MTYPE = rx(
    r"\b(?:(?P<s>programad[oa]s?|scheduled|programmed)|(?P<v>verificad[oa]s?|verified))\b"
)

_CONNECTORS = {"de", "do", "da", "dos", "das", "del", "di", "du", "of", "the"}
# between two names: a list of plants ("Jirau e Santo Antônio", "Jirau, Belo Monte and Itaipu")
_NAME_LIST = re.compile(r"\s*(?:,\s*(?:(?:e|and)\s+)?|\s(?:e|and)\s+)")
_NOT_NAMES = {
    "which", "what", "the", "top", "bottom", "qual", "quais", "a", "o", "as", "os", "average",
    "total", "largest", "biggest", "smallest", "hydro", "wind", "solar", "thermal", "nuclear",
    "each", "every", "per", "show", "list", "quanto", "quanta", "how", "much", "did", "em",
    "in", "no", "na",
}  # fmt: skip
# a verb of generation right after a plant's name (its subject)
_GENERATED = re.compile(
    r"(?<=\s)(?:gerou|geraram|gera|geram|produziu|produziram|produz|produzem|generated"
    r"|generates|generate|produced|produces|produce)\b"
)


# -- the translator ---------------------------------------------------------------------------


# the parts of a question a follow-up can replace ("e no Nordeste?", "and in 2023?")
PLACE, PERIOD, MEASURE, AGGREGATION = "place", "period", "measure", "aggregation"
WHEN = "when"  # "e quando": the time of an extreme, dropped when a follow-up asks a mean
UNIT = "unit"  # "em MWmês", "in % points": "same but in MWmonth" replaces it
RANK, GROUPING = "rank", "grouping"  # "and the bottom 5?", "and per month?"
_FOLLOW_UP = rx(
    r"""^\W*(?:(?:ok|okay|certo|beleza|blz|hmm+|ta|entendi|obrigad[oa]|valeu|thanks|great|nice
    |cool|got\s+it)\W+)*(?:
        (?:e|and)\s+(?:quanto\s+(?:a|ao|as|aos)|sobre|para|pra|com|for|in\s+the\s+case\s+of)\b
      | (?:and\s+)?(?:what|how)\s+about\b
      | (?:e\s+)?(?:o\s+)?mesm[oa]\s+(?:coisa\s+)?(?:para|pra)\b
      | (?:and\s+)?(?:the\s+)?same\s+(?:thing\s+)?(?:for|but)\b
      | (?:e\s+)?(?:o\s+)?mesm[oa]\s+(?:coisa\s*)?,?\s*mas\b
      | (?:e\s+)?compar[ae](?:r)?\s+(?:isso\s+|it\s+|that\s+)?(?:com|with|to)\b
      | (?:and\s+)?compared?\s+(?:it\s+|that\s+|this\s+)?(?:with|to)\b
      | (?:e|and)\b
    )"""
)
_ARTICLE = re.compile(r"(?:the|o|a|os|as)\s+", re.IGNORECASE)
_QUALIFIER = re.compile(
    r"\b(?:bruta|gross|armazen[aá]vel|storable|programad[oa]|scheduled|verificad[oa]|verified)\b",
    re.IGNORECASE,
)
_BARE_FOLLOW_UP_WORDS = 4  # "Nordeste?", "em 2023?": no connector, only a few words
ALL_RANKED = TOP_N_MAX  # a ranking of every state, source or subsystem
MAX_QUESTION_CHARS = 1000  # what the translator reads of a question
# articles and prepositions left hanging when the part after them is replaced
_DANGLING = rx(
    r"""(?:\b(?:d[oae]s?|n[oae]s?|em|para|pra|o|a|os|as|in|for|of|the|at|on|during|durante)
    \s+)+$"""
)


@dataclass
class _Rank:
    n: int
    bottom: bool
    entity: str | None  # subsystem, plant, state, source, fuel (None: plants by default)


@dataclass
class _State:
    text: Text
    now: datetime
    zone: object
    unmapped: list[Unmapped] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    reading: P.Reading = field(default_factory=P.Reading)
    rank: _Rank | None = None
    transform: tuple[TransformKind, int | None, str | None] | None = None
    share: bool = False
    ratio: bool = False
    window: str | None = None
    grain_adj: str | None = None
    group_tags: list[str] = field(default_factory=list)
    by_source: bool = False
    excluded: list[tuple[str, str]] = field(default_factory=list)  # (kind, words): "sem nuclear"
    measures: list[tuple[int, str, str]] = field(default_factory=list)  # (pos, key, text)
    subsystems: list[tuple[int, str, str]] = field(default_factory=list)  # (pos, code, text)
    states: list[tuple[int, str]] = field(default_factory=list)
    plant_names: list[str] = field(default_factory=list)
    fuels: list[str] = field(default_factory=list)
    plant_context: bool = False
    aggregations: list[tuple[int, Aggregation, str]] = field(default_factory=list)
    conditions: list[tuple[str, float, str]] = field(default_factory=list)  # (op, value, shown)
    counted: tuple[str, str] | None = None  # a count of time steps: (grain, shown)
    asks_when: bool = False  # "e quando", "with timestamp": the time of an extreme
    fullness: bool = False  # "% da capacidade": known for stored energy only
    by_hour_of_day: bool = False  # "por hora do dia", "typical day": a profile over the days
    subsystem_difference: tuple[str, str] | None = None  # "the SE-NE spread": SE − NE
    group_difference: tuple[str, str, str] | None = None  # (tag, a, b): two plants' difference
    by_day_of_week: bool = False  # "por dia da semana": a profile over the weeks
    stock_change: bool = False  # "quanto o armazenamento caiu": last − first of the period
    plus_read: bool = False  # a "+" read as plants added together
    sources_added: bool = False  # "eólica + solar": the sources' values added
    subtracted: bool = False  # "load minus wind minus solar": the first less the others
    net_load: tuple[int, str] | None = None  # "net load", "carga líquida": where, as written
    compare: bool = False
    hours_of_steps: bool = False  # hours counted on half-hourly data
    # days counted on finer data: the window each is, and the aggregate that decides it
    window_count: str | None = None
    window_agg: Aggregation | None = None
    whole_window: bool = False  # the condition held all through each counted day
    mlt: bool = False
    mwmes: bool = False
    percent: bool = False
    unit_sum: bool = False
    unit_mean: bool = False
    amount: bool = False
    more_generated: bool = False  # "which generated more, A or B?": their amounts compared
    any_single: bool = False  # "of any single plant": the one plant that reached it
    raw: str | None = None  # "raw hourly load": the stored points, as written
    options_compared: bool = False  # "which had the higher CMO, SE or NE?": one value each
    reached: tuple[int, Aggregation, str] | None = None  # "how high did it go": that extreme
    per_day: bool = False  # "em média por dia": the period's mean day
    which_way: bool = False  # "was it a net importer or exporter?": the net interchange's sign
    extreme_times: bool = False  # several aggregates, each maximum or minimum with its time
    extremes_alone: bool = False  # "max e min" (no other aggregate): each at its time if it can
    last_time: bool = False  # "when was the last time it was below 50%": that point, with its time
    to_date: bool = False  # "2025 YTD": one figure to date, not a series
    last_of_each: str | None = None  # "no último dia de cada mês": that window
    asks_value: bool = False
    wants_series: bool = False
    flow: tuple[str, str] | None = None  # (from, to)
    net: tuple[str, str] | None = None  # ("export" | "import", subsystem)
    legacy: str | None = None  # generation | consumption | transmission
    legacy_marked: bool = False
    consumers: list[str] = field(default_factory=list)
    total_word: bool = False
    energy_unit: str | None = None  # "gwh" or "twh": a total asked in that unit
    gigawatts: bool = False  # a power asked in GW
    patamar: tuple[str, str] | None = None  # (field, text) of a load level of the weekly CMO
    all_time: bool = False  # a record: over all the data unless a period is given
    time_rank: tuple[int, bool, str] | None = None  # (n, bottom, window): which days, months...
    both_interchanges: str | None = None  # "programado e verificado" asked (the words)
    slots: dict[str, set[int]] = field(default_factory=dict)  # slot → the positions naming it

    def mark(self, slot: str, before: str) -> None:
        """The characters consumed since ``before`` (the working text then) named ``slot``."""
        found = self.slots.setdefault(slot, set())
        now = self.text.current
        found.update(i for i, (a, b) in enumerate(zip(before, now, strict=True)) if a != b)


def _condition_number(written: str) -> float | None:
    """A number as written in either language: groups of three digits after a comma or dot are
    thousands ("5,000", "12.500"), a single other comma or dot is the decimal mark ("200,5");
    with both marks, the last is the decimal one ("40.000,5", "1,000.5"). ``None`` otherwise."""
    sign, digits = ("-", written[1:]) if written.startswith("-") else ("", written)
    both = re.fullmatch(r"(\d{1,3}(?:([.,])\d{3})*)([.,])(\d+)", digits)
    if both and both.group(2) and both.group(2) != both.group(3):
        return float(sign + re.sub(r"[.,]", "", both.group(1)) + "." + both.group(4))
    if re.fullmatch(r"\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*", digits):
        return float(sign + re.sub(r"[.,]", "", digits))
    if re.fullmatch(r"\d+(?:[.,]\d+)?", digits):
        return float(sign + digits.replace(",", "."))
    return None


class RuleTranslator:
    """The offline, deterministic translator (see the module docstring)."""

    def __init__(
        self,
        timezone: str = ONS_TIMEZONE,
        default_period: timedelta = DEFAULT_PERIOD,
        clock: Callable[[], datetime] | None = None,
        latest: LatestData | None = None,
        plants: KnownPlants | None = None,
        earliest: LatestData | None = None,
    ) -> None:
        self.timezone = timezone
        self.earliest = earliest  # table → its first point's time, as ``latest``
        self.zone = zone_info(timezone)
        self.default_period = default_period
        self.clock = clock or (lambda: datetime.now(UTC))
        self.latest = latest
        self.plants = plants

    def _numbered_plants(self, written: str) -> tuple[str, list[tuple[str, str]]]:
        """ "Angra 1 e 2", "Pecém I and II": each number with the name before it, when the data
        holds both plants so named."""
        if self.plants is None or not _NUMBERED_PAIR.search(written):
            return written, []  # the names are asked of the server only when needed
        names = self.plants()
        if not names:
            return written, []
        known = {fold(n) for n in names}
        used: list[tuple[str, str]] = []

        def expand(match: re.Match[str]) -> str:
            words = match.group("stem").split()
            for k in range(len(words)):  # the shortest name the data holds ("Porto do Pecém")
                stem = " ".join(words[k:])
                first, second = f"{stem} {match.group('a')}", f"{stem} {match.group('b')}"
                if fold(first) in known and fold(second) in known:
                    full = f"{' '.join([*words[:k], first])} {match.group('join')} {second}"
                    used.append((match.group(0), full))
                    return full
            return match.group(0)

        return _NUMBERED_PAIR.sub(expand, written), used

    # -- entry point ----------------------------------------------------------------------------
    def translate(
        self, question: str, now: datetime | None = None, previous: Sequence[str] = ()
    ) -> Translation:
        """Translate one question; ``now`` (aware) anchors relative periods. Shorthand is written
        out first; words not understood that are one slip away from the vocabulary are read as
        that word if the question is then understood better. Both are said in the assumptions.

        ``previous``: the conversation's earlier questions, oldest first. A question that cannot
        be read alone and only names what changes ("e no Nordeste?", "and in 2023?", "e a
        mínima?") is read as the one before it with those parts replaced (``read_as``)."""
        moment = now or self.clock()
        if moment.tzinfo is None:
            raise ModelError("now must be an aware datetime")
        result = self._translate_alone(question, moment)
        if not previous:
            return result
        context = self._as_read(previous[0], moment)
        for earlier in previous[1:]:
            alone, fixes = self._read_alone(earlier, moment)
            earlier = spelling.replace_words(earlier, fixes)
            resolved = self._follow_up(earlier, alone, context, moment)
            if resolved is not None:
                context = resolved
            elif alone.model is not None:  # "obrigado!" between two questions changes nothing
                context = earlier

        def not_a_follow_up() -> Translation:
            """Not a follow-up: the question alone, a period it refers to ("nesse trimestre",
            "in that month") read as the latest earlier question's period of that unit. "Same
            for …" that could not be joined to the question before is refused: alone it would
            drop what it repeats."""
            leans = any(
                a.startswith(("no period given", "no subsystem given")) for a in result.assumptions
            )
            if _SAME_FOR.match(fold(question)) and (leans or not result.complete):
                why = Unmapped(
                    "combination",
                    question.strip()[:80],
                    "repeats the question before, which could not be read with this change",
                )
                return replace(result, unmapped=(*result.unmapped, why))
            for earlier in dict.fromkeys([context, *reversed(previous)]):
                asked, notes, placed = self._referred(question, earlier, moment)
                if not notes:
                    continue
                joined = self._translate_alone(asked, moment)
                # a place pointed back at, read alone, must not fall back on a default period
                # ("qual usina gerou mais no estado?" after October: not the last 7 days)
                leaning = placed and any(
                    a.startswith("no period given") for a in joined.assumptions
                )
                if joined.complete and not leaning:
                    return replace(
                        joined,
                        question=question,
                        read_as=asked,
                        assumptions=(*notes, *joined.assumptions),
                    )
            pointing = self._pointing_at_a_place(question, moment)
            if pointing is not None:
                # "nesse subsistema" not joined to the question it points at: never "each one"
                why = Unmapped(
                    "filter",
                    pointing.group(0).strip(),
                    "which one? Name it, or ask it right after the question that names it",
                )
                return replace(result, unmapped=(*result.unmapped, why))
            return result

        if not result.complete and _ABOUT_THE_ANSWER.match(fold(question)):
            # "which plant was that, and at what time?": the earlier answer names them
            earlier = self._translate_alone(context, moment)
            if earlier.complete and _names_what_is_asked(earlier.model, fold(question)):
                note = f"asks about the answer to {context!r}: it names them"
                return replace(
                    earlier,
                    question=question,
                    read_as=context,
                    assumptions=(note, *earlier.assumptions),
                )
        referred_to, notes, _ = self._referred(question, context, moment)
        if notes and len(_fragment(question)[1].split()) <= _BARE_FOLLOW_UP_WORDS:
            # "e o CMO nessa janela?", "and solar in that state?": the reference resolved, then
            # joined to the question before as if written (a whole question stands alone)
            alone = self._translate_alone(referred_to, moment)
            resolved = self._follow_up(referred_to, alone, context, moment, referring=True)
            joined = self._translate_alone(resolved, moment) if resolved else None
            if resolved is not None and joined is not None and joined.complete:
                note = f"read as a follow-up of {context!r}: {resolved!r}"
                return replace(
                    joined,
                    question=question,
                    read_as=resolved,
                    assumptions=(*notes, note, *joined.assumptions),
                )
        # a period or place pointed back at ("nesse mês") is the one asked before, whatever
        # else the question says
        asked, alone = question, result
        if notes:
            alone = self._translate_alone(referred_to, moment)
            leans = any(
                a.startswith(("no period given", "no subsystem given")) for a in alone.assumptions
            )
            if alone.complete and not leans:  # a whole question once its reference is read
                return not_a_follow_up()
            asked = referred_to
        combined = self._follow_up(asked, alone, context, moment, referring=bool(notes))
        if combined is None:
            return not_a_follow_up()
        joined = self._translate_alone(combined, moment)
        if not joined.complete:
            return not_a_follow_up()
        tags = {f.tag for f in joined.model.tag_filters} if joined.model else set()
        if {"nom_usina", "nom_tipousina"} <= tags and not self._names_a_plant(context, moment):
            # "e Xingó?" after the wind generation: the plant's own generation, not its wind
            # (after "a usina nuclear Angra 2", "e Angra 1?" keeps the plant's own words)
            _, plant = _fragment(question)
            noun = "geração de" if joined.language == "pt" else "generation of"
            combined = self._follow_up(f"e a {noun} {plant}", result, context, moment)
            joined = self._translate_alone(combined, moment) if combined else result
            tags = {f.tag for f in joined.model.tag_filters} if joined.model else set()
            if combined is None or not joined.complete or "nom_tipousina" in tags:
                return not_a_follow_up()
        note = f"read as a follow-up of {context!r}: {combined!r}"
        connector, _ = _fragment(question)
        if connector is not None and "compar" in connector.group(0):
            note += " (the answer before is the other side of the comparison)"
        return replace(
            joined,
            question=question,
            read_as=combined,
            assumptions=(*notes, note, *joined.assumptions),
        )

    def _names_a_plant(self, question: str, moment: datetime) -> bool:
        model = self._translate_alone(question, moment).model
        return model is not None and any(f.tag == "nom_usina" for f in model.tag_filters)

    def _follow_up(
        self,
        question: str,
        alone: Translation,
        context: str,
        moment: datetime,
        referring: bool = False,
    ) -> str | None:
        """``context`` with the parts ``question`` names (place, period, measure, aggregation)
        replaced by its words, when ``question`` reads as a follow-up; else ``None``. A follow-up
        is a question not understood alone, or a few words after "e", "and", "what about"
        ("e a eólica?" is the wind generation of the place and period just asked)."""
        connector, fragment = _fragment(question)
        compared = self._change_follow_up(fragment, context, moment)
        if compared is not None:
            return compared
        # "e a média do mês?", "and hydro, same two years?": the period asked before, named;
        # "do mês" after yesterday names another period (not read: refused)
        unit = _span_unit(self._read(self._prepare(context, moment)[0], moment, []))

        def back(match: re.Match[str]) -> str:
            named = match.group("unit")
            same = named is None or _UNIT_OF.get(fold(named)) in (unit, "any")
            return " " if same else match.group(0)

        fragment = re.sub(r"\s+", " ", _BACK_REFERENCE.sub(back, fragment)).strip(" ,;")
        # "This percent is going down each year? Give me the value for every year …": the
        # answer before, pointed at, over other periods
        pointed = _THE_ANSWER_BEFORE.search(fold(fragment))
        if pointed is not None:
            fragment = (fragment[: pointed.start()] + fragment[pointed.end() :]).strip(" ,;")
        short = len(fragment.split()) <= _BARE_FOLLOW_UP_WORDS
        # ``referring``: a place or period pointed back at ("nessa janela") makes it a follow-up
        complete = alone.complete and not referring
        if not fragment or (not short and ((connector is None and pointed is None) or complete)):
            return None
        if complete and connector is None:
            return None
        written, _ = self._prepare(fragment, moment)
        earlier, _ = self._prepare(context, moment)
        state = self._read(earlier, moment, [])
        asked = self._read(written, moment, [])
        slots = {slot for slot, where in asked.slots.items() if where}
        measure = _slot_text(earlier, state.slots.get(MEASURE, set()))
        if not slots and measure.strip():
            # "e Tucuruí?": a plant's name is read beside the measure asked before (without its
            # qualifier: "e a armazenável?" after "ENA bruta")
            lead = f"{_QUALIFIER.sub('', measure).strip()} "
            bare = _ARTICLE.sub("", written, count=1) if _ARTICLE.match(written) else written
            beside = self._read(lead + bare, moment, [])
            slots = {
                slot
                for slot, where in beside.slots.items()
                if slot != MEASURE and any(i >= len(lead) for i in where)
            }
            if {k for _, k, _ in beside.measures} != {k for _, k, _ in state.measures}:
                # "e a armazenável?", "e o programado?": the measure, qualified otherwise
                slots.add(MEASURE)
                written = lead + bare
            asked = beside
        relative = any(r == P.RELATIVE_WITHOUT_BASE for _, r in asked.reading.problems)
        if slots == {PERIOD} and asked.reading.days and not asked.reading.spans and not relative:
            # "só dias úteis", "only weekends": the period asked before, narrowed to those days
            if asked.unmapped or state.reading.days:
                return None
            return f"{earlier.strip().rstrip('?!.').rstrip()}, {written}"
        if slots == {PERIOD} and relative:
            said = _slot_text(written, asked.slots[PERIOD])
            return self._relative_period(earlier, state, said, moment)
        if not slots or (connector is None and MEASURE in slots):
            return None
        if asked.unmapped:  # "e a previsão?": a part the data has not stays refused
            return None
        if pointed is not None and connector is None and PERIOD not in slots:
            return None  # "This value, is it per hour?": about the answer, no new request
        if PLACE in slots and state.slots.get(PLACE) and _THE_TWO.search(fold(question)):
            # "e Belo Monte? qual das duas gerou mais?": the place asked before, and this one
            slots = slots - {PLACE}
            written = f"{'e' if _language(fold(question)) == 'pt' else 'and'} {written}"
            if not slots:
                return f"{earlier.strip().rstrip('?!.').rstrip()} {written}"
        gone = set().union(*(state.slots.get(slot, set()) for slot in slots))
        if PERIOD in slots and [a for _, a, _ in state.aggregations] == [Aggregation.LAST]:
            # "agora", "now": the latest value of the period up to now; another period asked
            # takes it away ("quanto gera agora?" ››› "e ontem?": yesterday's, not its last)
            at, _, said = state.aggregations[0]
            gone |= set(range(at, at + len(said)))
        extreme = {a for _, a, _ in asked.aggregations} & SELECTORS
        if AGGREGATION in slots and not extreme:  # "and the average?" has no time of its own
            gone |= state.slots.get(WHEN, set())
        return _splice(earlier, gone, written, single=len(slots) == 1)

    def _change_follow_up(self, fragment: str, context: str, moment: datetime) -> str | None:
        """ "e em outubro do ano passado? cresceu quantos %?", "compared with the same month of
        2024, how much did it grow?": the question before, compared with the period named, and
        the change asked; ``None`` unless the rest of ``fragment`` names only a period."""
        clauses = [c for c in re.split(r"[?,;.!]+", fragment) if c.strip()]
        change = [c for c in clauses if _CHANGE.search(fold(c))]
        rest = " ".join(c for c in clauses if c not in change).strip()
        rest = re.sub(
            r"^(?:(?:e|and)\s+)?(?:comparad[oa]s?\s+(?:com|a|ao)|compared\s+(?:with|to)|vs\.?|versus"
            r"|em\s+relacao\s+(?:a|ao)|frente\s+(?:a|ao))\s+",
            "",
            fold(rest),
        )
        if len(change) != 1 or not rest:
            return None
        pt = _language(fold(context)) == "pt"
        if re.fullmatch(
            r"(?:o\s+|the\s+)?(?:ano\s+(?:passado|anterior)|(?:last|previous|prior)\s+year"
            r"|year\s+before)",
            rest.strip(),
        ):  # "em relação ao ano passado, quanto cresceu?" after a month: that month a year before
            rest = "o mesmo periodo do ano passado" if pt else "the same period last year"
        earlier, _ = self._prepare(context, moment)
        state = self._read(earlier, moment, [])
        asked = self._read(self._prepare(rest, moment)[0], moment, [])
        slots = {slot for slot, where in asked.slots.items() if where}
        # "o mesmo mês de 2024" alone asks "the same as what?": beside the period before, read
        unread = [u for u in asked.unmapped if u.reason != P.RELATIVE_WITHOUT_BASE]
        if slots != {PERIOD} or unread or len(state.reading.spans) != 1:
            return None
        joined = "comparado com" if pt else "compared with"
        return f"{earlier.strip().rstrip('?!.').rstrip()} {joined} {rest}, {change[0].strip()}?"

    def _referred(
        self, question: str, context: str, moment: datetime
    ) -> tuple[str, list[str], bool]:
        """``question`` with the place and the period it points back at ("do estado", "nessa
        janela") written as ``context`` named them; the notes saying so; whether a place was."""
        asked, notes, placed = question, [], False
        for refer in (self._place_referred, self._period_referred):
            found = refer(asked, context, moment)
            if found is not None:
                asked, note = found
                notes.append(note)
                placed |= refer == self._place_referred
        return asked, notes, placed

    def _pointing_at_a_place(self, question: str, moment: datetime) -> re.Match[str] | None:
        """ "do estado", "nesse subsistema" in a question that names no state (subsystem) of
        its own ("do subsistema Sul", "no subsistema norte" name theirs)."""
        match = _DEMONSTRATIVE_PLACE.search(question)
        if match is None or re.match(r"\s+[A-ZÀ-Ý]", question[match.end() :]):
            return None
        own = self._read(self._prepare(question, moment)[0], moment, [])
        if fold(match.group("unit")) in ("estado", "state"):
            return None if own.states else match
        return None if own.subsystems else match

    def _place_referred(
        self, question: str, context: str, moment: datetime
    ) -> tuple[str, str] | None:
        """``question`` with "do estado", "nesse subsistema", "that state" written as the one
        state or subsystem ``context`` asked about."""
        match = self._pointing_at_a_place(question, moment)
        if match is None:
            return None
        state = self._read(self._prepare(context, moment)[0], moment, [])
        if fold(match.group("unit")) in ("estado", "state"):
            codes = {code for _, code in state.states}
        else:
            codes = {code for _, code, _ in state.subsystems}
        if len(codes) != 1:
            return None
        code = codes.pop()
        prep = match.group("prep") or f"{match.group('contracted').lower()}o"
        asked = f"{question[: match.start()]}{prep} {code}{question[match.end() :]}"
        return asked, f"{match.group(0).strip()!r}: the one asked before ({code})"

    def _period_referred(
        self, question: str, context: str, moment: datetime
    ) -> tuple[str, str] | None:
        """``question`` with "nesse trimestre", "that month", "the same period" written as the
        dates of the period ``context`` asked, when that period is one of that unit."""
        match = _DEMONSTRATIVE_PERIOD.search(question)
        if match is None:
            return None
        state = self._read(self._prepare(context, moment)[0], moment, [])
        unit = _UNIT_OF.get(fold(match.group("unit")))
        if unit is None or len(state.reading.spans) != 1 or state.reading.days:
            return None
        if state.reading.hours:  # "entre 18h e 21h ontem ››› nessa janela": not the days alone
            return None
        if unit != "any" and _span_unit(state) != unit:
            return None
        span = state.reading.spans[0]
        pt = _language(fold(question)) == "pt"
        if span.start != P.midnight(span.start):
            return None
        if span.end >= moment:  # "desde o início do período úmido": up to now, still
            words = f"{'desde' if pt else 'since'} {span.start:%Y-%m-%d}"
        elif span.end != P.midnight(span.end):
            return None
        else:
            last = P.add_days(span.end, -1)
            words = (
                f"{'de' if pt else 'from'} {span.start:%Y-%m-%d} {'a' if pt else 'to'} "
                f"{last:%Y-%m-%d}"
            )
        asked = f"{question[: match.start()].rstrip()} {words}{question[match.end() :]}".strip()
        return asked, f"{match.group(0).strip()!r}: the period asked before ({words})"

    def _relative_period(
        self, earlier: str, state: _State, fragment: str, moment: datetime
    ) -> str | None:
        """ "and the week before that?", "e no mesmo dia do ano passado?": the earlier question
        over its period moved back as the words say, its dates written out; after a latest
        value, from the day of the latest data."""
        if state.reading.days or state.reading.hours:
            return None  # "nos fins de semana de maio ››› e um ano antes?": only dates move
        where = state.slots.get(PERIOD, set())
        base = _slot_text(earlier, where)
        if not state.reading.spans and [a for _, a, _ in state.aggregations] == [Aggregation.LAST]:
            model = self._translate_alone(earlier, moment).model
            latest = self.latest(model.table) if model and self.latest else None
            where = state.slots.get(AGGREGATION, set())
            if latest is None or not where:
                return None
            base = f"em {latest.astimezone(self.zone):%Y-%m-%d}"
        elif len(state.reading.spans) != 1 or not where:
            return None
        # read as a comparison with the earlier period, whose second span is the one asked
        pair = self._read(f"{base} vs {fragment}", moment, [])
        if len(pair.reading.spans) != 2 or pair.reading.problems:
            return None
        span = pair.reading.spans[1]
        pt = _language(fold(earlier)) == "pt"
        if span.start == P.midnight(span.start) and span.end == P.midnight(span.end):
            last = P.add_days(span.end, -1)
            if last == span.start:
                words = f"{'em' if pt else 'on'} {span.start:%Y-%m-%d}"
            else:
                words = f"{'de' if pt else 'from'} {span.start:%Y-%m-%d} {'a' if pt else 'to'} "
                words += f"{last:%Y-%m-%d}"
        else:
            words = f"{'de' if pt else 'from'} {span.start:%Y-%m-%d %H:%M} {'a' if pt else 'to'} "
            words += f"{span.end:%Y-%m-%d %H:%M}"
        return _splice(earlier, where, words, single=True)

    def _prepare(self, question: str, moment: datetime) -> tuple[str, list[str]]:
        """The question with shorthand, year words and numbered plants written out, and the
        notes saying so."""
        written, expanded = spelling.expand_shorthand(question[:MAX_QUESTION_CHARS])
        # "What's …": a contraction ("what is"), before possessives are dropped ("Belo Monte's")
        written = re.sub(
            r"\b(what|that|it|there|here|who|where|how|when)['’]s\b", r"\1 is", written, flags=re.I
        )
        written = re.sub(r"(?<=[A-Za-zÀ-ÿ])['’]s\b", "", written)  # "Belo Monte's output"
        written, named = _schema_words(written)
        written, pairs = P.month_pairs(written)
        written, years = P.year_words(written, moment.astimezone(self.zone))
        written, parts = P.day_part_words(written)
        written, numbered = self._numbered_plants(written)
        written, kinds = _plants_of_a_kind(written)
        numbered = [*numbered, *kinds]
        verb = _DOWNLOAD_VERB.match(written)  # "Export hourly generation for …": a request
        if verb is not None:
            numbered = [*numbered, (verb.group(0).strip(), "a request for the data")]
            written = written[verb.end() :]
        notes = [
            f"read {short!r} as {full!r}"
            for short, full in expanded + named + pairs + years + parts + numbered
        ]
        return written, notes

    def _translate_alone(self, question: str, moment: datetime) -> Translation:
        return self._read_alone(question, moment)[0]

    def _as_read(self, question: str, moment: datetime) -> str:
        """``question`` with the slips it was read with corrected: an earlier question a
        follow-up is joined to ("no ano pasado" read as "passado")."""
        return spelling.replace_words(question, self._read_alone(question, moment)[1])

    def _read_alone(self, question: str, moment: datetime) -> tuple[Translation, dict[str, str]]:
        """The question's reading, and the slips corrected to read it."""
        written, notes = self._prepare(question, moment)
        result = self._translate(question, written, moment, notes)
        fixes = {
            u.text: fix
            for u in result.unmapped
            if u.kind in ("word", "filter", "period")
            and (fix := spelling.correction(u.text, _VOCABULARY)) is not None
        }
        used: dict[str, str] = {}
        if fixes:
            notes += [f"read {wrong!r} as {right!r}" for wrong, right in fixes.items()]
            retry = self._translate(question, spelling.replace_words(written, fixes), moment, notes)
            if retry.complete:  # a guess that leaves the question half-read is no better
                result, used = retry, fixes
        if not result.complete:
            trimmed, context = _without_context(written)
            if context:
                notes = [*notes, *(f"ignored as context: {c!r}" for c in context)]
                retry = self._translate(question, trimmed, moment, notes)
                if retry.complete:
                    result = retry
        return result, used

    def _read(self, written: str, moment: datetime, notes: list[str]) -> _State:
        """The question's parts, each phrase consumed by the step that read it; ``slots`` keeps
        which characters named the place, the period, the measure and the aggregation."""
        text = Text(written)
        st = _State(text=text, now=moment.astimezone(self.zone), zone=self.zone)
        st.assumptions.extend(notes)
        for match in text.take(_FILLER):
            st.ignored.append(text.original(match.start(), match.end()))
        for match in text.finditer(_DIRECTION_WORD):
            # "no sentido Norte → Sudeste": the direction the pair after it names; after a pair
            # named before ("SE-NE, sentido SE para NE") the word stays unread (refused)
            before = text.orig[: match.start()]
            if not _SUBSYSTEM_CODES.search(before) and not any(
                p.search(fold(before)) for p, _ in _SUBSYSTEM_RX
            ):
                text.consume(match.start(), match.end())
        if _WHICH_SOURCE.search(text.norm):  # "qual fonte …? hidro, térmica ou solar": options
            for match in text.finditer(_SOURCE_OR):
                text.consume(match.start("or"), match.end("or"))
        st.any_single = bool(text.take(_ANY_SINGLE))
        raw = text.take(_RAW)
        st.raw = text.original(raw[0].start(), raw[0].end()) if raw else None
        for match in text.take(_HOW_HIGH):  # "how high did it go?": its maximum (low: minimum)
            agg = Aggregation.MAX if match.group("dir") == "high" else Aggregation.MIN
            st.reached = (match.start(), agg, match.group(0))
            text.consume(match.start("verb"), match.end("verb"))
            text.take(rx(r"(?<=\bdid\s)it\b|^\W*it\b"))
        named_options = _OR.search(text.norm) and not _WHICH_SOURCE.search(text.norm)
        for match in text.finditer(_WHICH_OF_THE_NAMED) if named_options else ():
            # "Jirau or Santo Antônio - which generated more?": the two named, compared; an
            # amount of energy when generating (or consuming) is what is compared
            if match.group("more"):
                text.consume(match.start("more"), match.end("more"))
            elif match.group("cmp") and not _ENTITY_NOUN.search(match.group("between")):
                text.consume(match.start("cmp"), match.end("cmp"))  # "which had the higher …"
                st.options_compared = True
            if match.group("who"):  # "quem gerou mais, A ou B?": one of those named
                text.consume(match.start("who"), match.end("who"))
            for joint in text.finditer(_OR):
                text.consume(joint.start(), joint.end())
            st.more_generated = bool(_ENERGY_VERB.search(match.group(0)))
        for who in text.finditer(_WHO):  # "quem teve a maior carga?": which one, ranked
            if _SUPERLATIVE.search(text.norm, who.end()):
                text.consume(who.start(), who.end())
        for match in text.finditer(_FROM_TABLE):  # "from the balanco table": the name is read
            for part in ("a", "b", "a2"):
                if match.group(part) is not None:
                    text.consume(match.start(part), match.end(part))
        named = {k for pattern, k in _MEASURES_RX if k in SOURCES and pattern.search(text.norm)}
        if len(named) > 1:  # "hidráulica, térmica e eólica, separado por fonte": each already
            for match in text.take(_SPLIT_BY_SOURCE):
                st.ignored.append(text.original(match.start(), match.end()))
        text.take(_SOURCE_NOUN)
        st.by_hour_of_day = bool(text.take(_DAY_PROFILE))
        st.by_day_of_week = bool(text.take(_WEEK_PROFILE))
        if st.by_day_of_week:
            text.take(_PROFILE_WORD)  # "weekly load profile": the word the rule looked ahead to
            hourly = rx(
                r"\b(?:by|per|each|por|cada|a\s+cada)\s+(?:hour|hora)\b|\bhora\s+a\s+hora\b"
            )
            if st.by_hour_of_day or next(text.finditer(hourly), None):
                # "weekly load profile by hour": each hour of the week (168 values), not kept
                st.unmapped.append(
                    Unmapped(
                        "combination",
                        "by hour of the week",
                        "a profile is by hour of the day or by day of the week, not both",
                    )
                )
        if text.take(_WHICH_WEEKDAY):
            st.by_day_of_week = True
            st.assumptions.append("which day of the week: each weekday's value, to compare")
            text.take(_PROFILE_PEAK)
            text.take(_RANK_THEM)  # "… rank them": the seven values, shown to compare
            both = r"\b(?:and|e)\s+(?:the\s+|o\s+|a\s+)?(?:lowest|menor|highest|maior)\b"
            if not re.search(both, text.orig, re.IGNORECASE):  # "é menor" is no "e menor"
                for match in list(text.finditer(_PROFILE_EXTREME))[:1]:
                    text.consume(match.start(), match.end())
        if st.by_hour_of_day:  # "em que hora do dia … gera mais": the profile shows it
            text.take(_PROFILE_PEAK)
            text.take(_PROFILE_WORD)
            if _WHICH_HOUR.search(text.norm):  # "que horas do dia o vento rende mais": shown
                for match in list(text.finditer(_MORE_OR_LESS))[:1]:
                    text.consume(match.start(), match.end())
            if _WHICH_HOUR.search(text.norm) and _AVERAGE_WORD.search(text.current):
                # "which hour of the day had the highest average CMO?": the profile's hours,
                # compared; the extreme picks one of them, the aggregate is the average
                both = r"\b(?:and|e)\s+(?:the\s+|o\s+|a\s+)?(?:lowest|menor|highest|maior)\b"
                if not re.search(both, text.orig, re.IGNORECASE):
                    for match in list(text.finditer(_PROFILE_EXTREME))[:1]:
                        text.consume(match.start(), match.end())
        for pattern, kind, reason, suggestions in _REFUSED:
            for match in text.take(pattern):
                shown = text.original(match.start(), match.end())
                st.unmapped.append(Unmapped(kind, shown, reason, suggestions))
        before = text.current
        self._plants(st)
        self._states(st)
        st.mark(PLACE, before)
        before = text.current
        self._legacy(st)
        self._fuels(st)
        st.mark(MEASURE, before)
        before = text.current
        for match in text.take(_ENDED):
            st.aggregations.append((match.start(), Aggregation.LAST, match.group(0)))
        for match in text.take(_LAST_OF_EACH):
            # "no último dia de cada mês", "at the end of each month": each window's last value
            unit = next(u for u in match.groups() if u)
            st.window = st.last_of_each = _TIME_UNITS[unit]
            st.aggregations.append((match.start(), Aggregation.LAST, match.group(0)))
        st.mark(AGGREGATION, before)
        before = text.current
        for match in text.take(_LAST_TIME):
            # "the last time … below 50%": the latest point that met it, over all the data
            first = "first" in match.group(0) or "primeira" in match.group(0)
            agg = Aggregation.FIRST if first else Aggregation.LAST
            st.aggregations.append((match.start(), agg, match.group(0)))
            st.asks_when = st.all_time = st.last_time = True
        change = bool(_CHANGE.search(text.current)) and not _PER_STEP.search(text.current)
        st.reading = P.read(text, st.now, ends=change)
        self._over_previous(st)
        st.mark(PERIOD, before)
        stock = _STOCK_WORD.search(text.norm)
        if len(st.reading.spans) > 1 or stock:  # "Jan 2026 vs Jan 2025 - up or down?"
            text.take(_UP_OR_DOWN)
        if stock and (_STOCK_CHANGE.search(text.norm) or _CHANGE.search(text.norm)):
            text.take(_FIRST_VS_LAST)  # "how much did storage change? first vs last day"
        for shown, reason in st.reading.problems:
            st.unmapped.append(Unmapped("period", shown, reason, _period_hints(text.norm)))
        st.assumptions.extend(st.reading.notes)
        before = text.current
        self._units(st)
        st.mark(UNIT, before)
        self._conditions(st)
        if not st.conditions and not st.counted:
            text.take(_WHOLE)
        yes_no = _YES_NO.search(text.norm)
        asks_when = st.asks_when or re.search(r"\b(?:quando|when)\b", text.norm)
        series = st.window or _EACH_STEP.search(text.norm)  # "dia a dia": a series asked
        # "qual foi a carga às 20h, ficou acima de 50 mil?", "mostre a carga: …?": the value
        series = series or _SERIES_WORDS.search(text.norm) or _VALUE_ASKED.search(text.norm)
        excess = _EXCESS.search(text.norm)
        if excess and st.conditions:
            st.unmapped.append(
                Unmapped(
                    "combination",
                    text.original(excess.start(), excess.end()),
                    "by how much a threshold was exceeded is not computed: ask for the maximum "
                    "(and compare), or how many hours it was above",
                )
            )
        if yes_no and yes_no.group("passed") and _WH_WORD.search(text.norm):
            yes_no = None  # "em que horas a carga passou de 80 GW?", "quanto passou": no yes or no
        if st.conditions and not st.aggregations and yes_no and not asks_when and not series:
            # "o CMO chegou a zerar?", "did the load go above 40 GW?": how many points met it
            for part in ("when", "reach", "ever"):
                if yes_no.group(part):
                    text.consume(yes_no.start(part), yes_no.end(part))
            st.aggregations.append((yes_no.start(), Aggregation.COUNT, yes_no.group(0)))
            st.assumptions.append("a yes or no on a condition: the points that met it (0: no)")
        self._intent(st)
        before = text.current
        self._rank(st)
        st.mark(RANK, before)
        self._transforms(st)
        before = text.current
        self._grouping(st)
        st.mark(GROUPING, before)
        self._plant_words(st)
        before = text.current
        stock = re.search(
            r"\b(?:ear|armazen\w*|storage|stored|reservat\w*|reservoirs?|mlt|ena)\b", text.norm
        )
        if stock and text.take(_PERCENT_POINTS):  # "in % points": a change of a stock's %
            st.percent = True
            st.mark(UNIT, before)
        self._share(st)
        self._patamar(st)
        if st.rank is not None:  # "top 5 usinas por energia gerada": what ranks them
            text.take(_RANKED_BY_MEASURE)
        before = text.current
        self._measures(st)
        st.mark(MEASURE, before)
        before = text.current
        self._subsystems(st)
        self._direction(st)
        st.mark(PLACE, before)
        self._one_above_the_other(st)
        before = text.current
        self._aggregations(st)
        st.mark(AGGREGATION, before)
        self._compare(st)
        self._spread_between(st)
        before = text.current
        self._late_plant_names(st)
        self._known_plant_names(st)
        st.mark(PLACE, before)
        if len(st.plant_names) > 1 and st.rank is None and st.text.take(_RANK_VERB):
            # "Rank Furnas, Ilha Solteira and Serra da Mesa by generation": those plants, ranked
            st.rank = _Rank(len(st.plant_names), False, "plant")
        return st

    def _translate(
        self, question: str, written: str, moment: datetime, notes: list[str]
    ) -> Translation:
        st = self._read(written, moment, notes)
        text = st.text
        model = self._build(st)
        if model is not None:
            self._before_the_data(st, model.table)
            funcs = {leaf.func for s in model.selections for leaf in leaves(s.expr)}
            if _PRICIEST.search(text.norm) and model.table != "cmo_semihorario":
                st.unmapped.append(  # "qual termelétrica é mais cara?": prices are not here
                    Unmapped(
                        "word",
                        _PRICIEST.search(text.norm).group(0),  # type: ignore[union-attr]
                        "prices and costs of plants are not in the data; the marginal operating "
                        "cost (CMO) of each subsystem is",
                    )
                )
            if _FULLEST.search(text.norm) and model.table != "ear_diario":
                st.unmapped.append(  # "qual usina está mais cheia?": only reservoirs fill
                    Unmapped(
                        "word",
                        _FULLEST.search(text.norm).group(0),
                        "only the stored energy (reservoirs, EAR) is full or empty",
                    )
                )
            if st.last_time and not model.value_filters:
                st.unmapped.append(  # "the last time the South exported": a condition on values
                    Unmapped(
                        "combination",
                        "last time",
                        "the last time a condition held needs the condition on the values "
                        "(below 50 %, above 40 000 MW, at zero)",
                    )
                )
            shaped = model.by_hour_of_day or model.by_day_of_week or model.top or model.order_by
            shaped = shaped or model.value_filters  # "média … quando acima de 200": a condition
            if st.asks_when and model.window is None and not funcs & SELECTORS and not shaped:
                # "a carga média de ontem com a hora": a mean or a total has no time of its own
                st.unmapped.append(
                    Unmapped(
                        "combination",
                        "when",
                        "a mean, total or count has no time of its own: ask per hour (or day), "
                        "or for the maximum and when it occurred",
                        ("carga média do SE ontem por hora", "carga máxima do SE ontem e quando"),
                    )
                )
        if st.both_interchanges and not (model and model.table == "intercambio"):
            st.unmapped.append(
                Unmapped(
                    "combination",
                    st.both_interchanges,
                    "scheduled and verified values together are read for a pair of subsystems "
                    "(de X para Y): ask for each otherwise",
                    ("intercâmbio programado e verificado de SE para NE",),
                )
            )
        if _PLUS.search(_WEEKDAYS_ADDED.sub(" ", text.norm)) and not st.plus_read:
            st.unmapped.append(
                Unmapped(
                    "combination",
                    "+",
                    "adding series together is read only for the total energy of named plants",
                    ("Angra 1 + Angra 2, energia total em 2023",),
                )
            )
        self._leftovers(st)
        language = _language(text.norm)
        interpretation = describe(model, language, tuple(st.assumptions)) if model else ""
        return Translation(
            question=question,
            language=language,
            model=model,
            unmapped=tuple(st.unmapped),
            assumptions=tuple(st.assumptions),
            interpretation=interpretation,
            ignored=tuple(st.ignored),
            days=P.days_name(st.reading.days) if st.reading.days else None,
        )

    def _per_day(
        self,
        st: _State,
        table: str,
        selections: list[Selection],
        filters: list[TagFilter],
        group: list[str],
    ) -> list[Selection]:
        """An hourly mean power asked as energy a day ("quanto gerou em média por dia") is the
        mean × 24 h of each series: its energy over the period's days; anything else, the
        period's mean. Several plants in one figure have no such mean: refused."""
        spec = schema.table(table)
        units = {f.name: f.unit for f in spec.fields}
        fields = {
            leaf.field for s in selections for leaf in leaves(s.expr) if isinstance(leaf, Agg)
        }
        energy = st.amount or st.unit_sum
        if not (
            energy and spec.grain == timedelta(hours=1) and all(units[f] == "MWmed" for f in fields)
        ):
            st.assumptions.append("on average per day: the mean over the whole period")
            return selections
        one = {f.tag for f in filters if f.op is not FilterOp.NE and len(f.values) == 1}
        identity = [PLANT_TAG] if table == PLANT_TABLE else list(spec.identity_tags)
        if not all(tag in one or tag in group for tag in identity):
            st.unmapped.append(
                Unmapped(
                    "combination",
                    "por dia",
                    "the average day of several series together is not read: ask for their "
                    "total energy, or each one's average per day",
                    ("quanto as eólicas da Bahia geraram em outubro, em MWh",),
                )
            )
            return selections
        st.assumptions.append("on average per day: the mean power × 24 h (MWh a day)")
        return [
            Selection(BinOp("*", s.expr, Const(HOURS_A_DAY)), f"{s.alias}_per_day")
            for s in selections
        ]

    def _before_the_data(self, st: _State, table: str) -> None:
        """A period that ends before the table's first point has nothing to answer with (the
        future is said by the period reading); one that starts before it is answered from there."""
        if self.earliest is None or not st.reading.spans:
            return
        first = self.earliest(table)
        if first is None:
            return
        first_day = P.midnight(first.astimezone(self.zone))
        for span in st.reading.spans:
            if span.end <= first:
                st.unmapped.append(
                    Unmapped(
                        "period",
                        P.label(span),
                        f"the data starts on {first_day:%Y-%m-%d}: nothing before it",
                        (f"desde {first_day:%Y}", f"em {first_day.year + 1}"),
                    )
                )
            elif span.start < first_day:
                st.assumptions.append(f"the data starts on {first_day:%Y-%m-%d}")

    # -- extractors -----------------------------------------------------------------------------
    def _plants(self, st: _State) -> None:
        text = st.text
        quoted = rx(r"""["“'‘](?P<name>[^"”'’]{1,80})["”'’]""")
        for match in quoted.finditer(text.orig):
            if match.start() > 0 and text.orig[match.start() - 1].isalnum():
                continue  # an apostrophe inside a word ("Brazil's")
            st.plant_names.append(match.group("name").strip())
            text.consume(match.start(), match.end())
        name_rx = rx(
            r"\b(?:(?P<kw>usina|uhe|ute|ufv|eol|plant|power\s+plant|power\s+station)"
            r"(?:\s+(?:de|da|do|of))?|(?:usinas|uhes|plants|power\s+plants))\s+(?P<rest>.*)$"
        )  # a plural only right before the names: "usinas da Bahia" is a state
        for match in list(text.finditer(name_rx)):
            if not text.orig[match.start("rest") : match.start("rest") + 1].isupper():
                continue  # "usinas da Bahia", "usina eólica": no name follows
            spans = _name_runs(text.orig, match.start("rest"))
            if spans:
                st.plant_names += [text.orig[a:b].strip() for a, b in spans]
                text.consume(match.start(), spans[-1][1])
        before_rx = rx(r"(?P<kw>\s(?:plant|power\s+plant|power\s+station|hydro\s+plant|dam))\b")
        for match in list(text.finditer(before_rx)):
            begin = _capitalised_run_backwards(text.orig, match.start())
            if begin < match.start():
                st.plant_names.append(text.orig[begin : match.start()].strip())
                text.consume(begin, match.end())
        if st.plant_names:
            st.plant_context = True

    def _plant_words(self, st: _State) -> None:
        for match in st.text.take(rx(r"\b" + _PLANT_WORD + r"\b")):
            st.plant_context = True
            if re.search(r"eolic|wind", match.group(0)):
                st.measures.append((match.start(), "wind", match.group(0)))

    def _states(self, st: _State) -> None:
        for name in sorted(_STATES, key=len, reverse=True):
            pattern = rx(
                r"\b(?:(?:n[oa]|d[oa]|em|in|of)\s+)?(?:estado\s+(?:d[eoa]\s+)?"
                r"|(?:the\s+)?state\s+of\s+)?" + re.escape(name) + r"\b(?:\s+state\b)?"
            )  # "no estado do Paraná", "the state of Paraná", "in Paraná state"
            for match in st.text.take(pattern):
                # "para" is also a preposition: only "Pará", or after "do/no/estado do"
                if name == "minas" and re.search(
                    r"[A-ZÀ-Ý][\w-]*\s+de\s+$", st.text.orig[: match.start()]
                ):  # "Patos de Minas", "Poços de Minas": a place's (or a plant's) name
                    st.text.restore(match.start(), match.end())
                    continue
                if name == "para" and not (
                    "á" in st.text.orig[match.start() : match.end()].lower()
                    or re.match(r"(?:n|d)o\s|estado", match.group(0))
                ):
                    st.text.restore(match.start(), match.end())
                    continue
                st.states.append((match.start(), _STATES[name]))
        # a state's code in capitals ("usinas eólicas BA"); SE stays the Southeast subsystem,
        # and a question written all in capitals has no codes to tell apart
        if st.text.orig.isupper():
            return
        for match in _STATE_CODE.finditer(st.text.orig):
            ambiguous = match.group(1) in _AMBIGUOUS_CODES and not re.search(
                r"\b(?:n[oa]|d[oa]|em|in|of|estado)\s+$", st.text.norm[: match.start()]
            )
            if st.text.current[match.start() : match.end()].strip() and not ambiguous:
                st.states.append((match.start(), match.group(1)))
                st.text.consume(match.start(), match.end())

    def _legacy(self, st: _State) -> None:
        text = st.text
        for match in text.take(_LEGACY_MARK):
            st.legacy_marked = True
            table = match.group("table")
            if table:
                st.legacy = table.split("_")[0]
        for match in text.take(_CONSUMER):
            kind = match.group("c1") or match.group("c2") or match.group("c3")
            st.consumers.append(_CONSUMER_TYPES[kind[:3]])
            st.legacy = "consumption"
        if text.take(_BY_CONSUMER):
            st.legacy = "consumption"
            st.group_tags.append("consumer_type")
        if text.take(_TRANSMISSION):
            st.legacy = "transmission"

    def _fuels(self, st: _State) -> None:
        for pattern, name in _FUEL_RX:
            if st.text.take(pattern):
                st.fuels.append(name)
                st.plant_context = True

    def _units(self, st: _State) -> None:
        text = st.text
        mlt = text.take(_MLT)
        st.mlt = bool(mlt)
        vs = next((m for m in mlt if m.group("vs")), None)
        inflow = re.search(
            r"\b(?:ena|energia\s+natural\s+afluente|natural\s+inflows?|inflows?|afluencias?)\b",
            text.norm,
        )
        if vs is not None and (not inflow or st.aggregations or st.reading.spans):
            # only the inflows have a % of the long-term mean, and only now: otherwise unread
            text.restore(vs.start("vs"), vs.end("vs"))
            vs = None
        if vs is not None:
            # "a ENA está acima da média histórica?": the latest value in % of the MLT says it
            st.aggregations.append((vs.start(), Aggregation.LAST, vs.group(0)))
            st.assumptions.append(
                "above or below the long-term mean (MLT): the latest value in % of the MLT "
                "(above 100 % is above it)"
            )
        st.mwmes = bool(text.take(_MWMES))
        st.percent = st.fullness = bool(text.take(_FULLNESS))
        text.take(_PRICE_UNIT)
        found = text.take(_MWH)
        st.unit_sum = bool(found)
        st.energy_unit = next(
            (unit for m in found for unit in ("gwh", "twh") if m.group(unit)), None
        )
        st.unit_mean = bool(text.take(_MWMED))
        st.gigawatts = bool(text.take(_GW))

    def _intent(self, st: _State) -> None:
        norm = st.text.norm
        st.which_way = bool(st.text.take(_WHICH_WAY))
        if st.which_way:
            st.assumptions.append(
                "exporting or importing: the net interchange's sign says it (above zero "
                "exporting, below zero importing)"
            )
        st.to_date = bool(_YEAR_TO_DATE.search(norm))
        st.asks_value = bool(_ASKS_VALUE.search(norm)) or st.which_way
        st.wants_series = bool(_SERIES_WORDS.search(norm))
        st.amount = bool(
            _AMOUNT.search(norm)
            and _ENERGY_VERB.search(norm)
            and not re.search(r"\b(?:quant[oa]\s+d[ao]|how\s+much\s+of)\b", norm)
        ) or bool(re.search(r"\b(?:how\s+much|quanta)\s+(?:energy|energia)\b", norm))
        st.amount = st.amount or bool(_AMOUNT_NOUN.search(norm) or _TO_DATE.search(norm))
        st.amount = st.amount or st.more_generated
        for match in st.text.finditer(_WHEN):
            # "em que dia a geração foi maior": the day with the largest value, a ranking of days
            # (read by _time_rank), not the hour of the maximum
            day = re.search(r"\b(?:dia|day|semana|week|mes|month|ano|year)\b", match.group(0))
            hour = re.search(r"\b(?:hora|horario|hour|time)\b", match.group(0))  # "dia e hora"
            if day and not hour and _LARGER.search(norm[match.end() :]):
                continue
            st.text.consume(match.start(), match.end())
            st.asks_when = True
            st.slots.setdefault(WHEN, set()).update(range(match.start(), match.end()))

    def _time_rank(self, st: _State) -> bool:
        """ "Qual dia teve a maior carga": the windows of a period ranked by the measure."""
        text = st.text
        for match in text.finditer(_TIME_RANK):
            g = match.groupdict()
            unit = g["u1"] or g["u2"] or g["u3"] or g["u4"]
            adj = g["adj2"] or g["adj3"] or ""
            bottom: bool | None = None
            if g["dir"] or adj:
                bottom = g["dir"] == "bottom" or adj in ("menores", "lowest", "smallest", "menor")
            else:
                sup = next(iter(text.finditer(_SUPERLATIVE)), None)
                if sup is None or sup.start() < match.end():
                    continue  # "os 7 dias", "qual dia": no ranking without a superlative
                bottom = bool(sup.group("down"))
                text.consume(sup.start(), sup.end())
            n = numbers.parse(g["n1"] or g["n2"]) if (g["n1"] or g["n2"]) else 1
            if n is None or not 1 <= n <= 1000:
                continue
            text.consume(match.start(), match.end())
            before = text.norm[: match.start()]
            if re.search(r"\b(?:e|and)\s*$", before) and any(p.search(before) for p, _ in _AGG_RX):
                # "média da semana e a hora de maior geração": two questions, never one of them
                st.unmapped.append(
                    Unmapped(
                        "combination",
                        text.original(0, match.end()).strip(),
                        "two questions (a value over the period and the window of the extreme):"
                        " ask each",
                    )
                )
                return True
            st.time_rank = (n, bottom, _TIME_UNITS[unit])
            return True
        return False

    def _rank(self, st: _State) -> None:
        text = st.text
        if self._time_rank(st):
            return
        for pattern in (_RANK_WHICH, _RANK_N, _RANK_TOP, _RANK_ADJ_N, _RANK_PLAIN, _RANK_ONE):
            match = next(iter(text.finditer(pattern)), None)
            if match is None:
                continue
            groups = match.groupdict()
            entity = next((k for k in _ENTITY if groups.get(k)), None)
            if groups.get("plant_kind"):  # "qual hidrelétrica": the plants of that kind
                entity = "plant"
            n: int | None = 1
            if groups.get("n"):
                n = numbers.parse(groups["n"])
                if n is None or not 1 <= n <= 1000:
                    text.consume(match.start(), match.end())
                    st.unmapped.append(
                        Unmapped(
                            "number",
                            text.original(match.start("n"), match.end("n")),
                            "a ranking needs a whole number from 1 to 1000",
                            ("top 5", "os 3 maiores", "the ten largest"),
                        )
                    )
                    return
            elif pattern is _RANK_PLAIN or (
                pattern is _RANK_WHICH
                and entity in ("plant", "state")
                and re.search(r"s$|^quais\b", match.group(0).strip())
            ):  # "as maiores usinas", "which plants": a list, as "top 10" would give
                n = 10
                if pattern is _RANK_PLAIN and not re.search(r"s\s*$", match.group(0)):
                    n = 1  # "the biggest generating plant": one
            adj = groups.get("adj") or groups.get("dir") or ""
            if adj.startswith("rank") and not groups.get("n") and entity not in (None, "plant"):
                # "ranking dos estados": every state, ranked (hundreds of plants: the first 10)
                n = ALL_RANKED
                st.assumptions.append("a ranking asked: every one, ranked")
            bottom: bool | None = None
            if adj and not adj.startswith("rank"):  # "ranking dos estados": the superlative says
                bottom = adj in ("menores", "smallest", "lowest", "menor", "bottom")
            text.consume(match.start(), match.end())
            for kind in ("kind", "plant_kind"):  # "which thermal plants": the type, a filter
                if groups.get(kind):
                    text.restore(match.start(kind), match.end(kind))
            after: re.Match[str] | None = None
            if pattern in (_RANK_TOP, _RANK_ADJ_N):  # "top 5 usinas": the entity may follow
                after = re.match(r"\s*(?:" + _ENTITY_ANY + r")\b", text.current[match.end() :])
                if after:
                    entity = next((k for k in _ENTITY if after.groupdict().get(k)), None)
                    text.consume(match.end(), match.end() + after.end())
            sup: re.Match[str] | None = None
            if bottom is None or pattern in (_RANK_WHICH, _RANK_N):
                sup = next(iter(text.finditer(_SUPERLATIVE)), None)
                if sup is not None and sup.start() >= match.start():
                    bottom = bool(sup.group("down"))
                    text.consume(sup.start(), sup.end())
                    # "e o menor?" after "qual subsistema teve o maior CMO": the other end
                    st.slots.setdefault(AGGREGATION, set()).update(range(sup.start(), sup.end()))
                elif bottom is None and pattern in (_RANK_WHICH, _RANK_N):
                    verb = _RANK_VERB_BEFORE.search(text.norm[: match.start()])
                    if pattern is not _RANK_N or verb is None:
                        # "qual subsistema" alone, "across the four subsystems": no ranking
                        text.restore(match.start(), match.end())
                        return
                    # "rank the four subsystems by …": those, from the highest
                    text.consume(verb.start(), verb.end())
                    bottom = False
            ranking = next(iter(text.finditer(_RANKING_WORD)), None)
            if _SHOW_ALL.search(text.current):  # "rank all 4": that many, below
                ranking = None
            count = ranking and re.match(
                r"\s+d[oa]s\s+(?P<n>\d+|tres|quatro|cinco|dez)\b", text.current[ranking.end() :]
            )
            if ranking is not None and n == 1 and pattern is _RANK_WHICH and count:
                # "qual submercado …? manda o ranking dos 4": the first four, ranked
                n = numbers.parse(count.group("n")) or 10
                text.consume(ranking.end(), ranking.end() + count.end())
                st.assumptions.append(f"a ranking asked: the first {n}, ranked")
            elif ranking is not None and n == 1 and pattern is _RANK_WHICH:
                # "which fuel generated most? give a ranking": every one, ranked
                n = 10
                st.assumptions.append("a ranking asked: each one, ranked (the first 10)")
            shown = next(iter(text.take(_SHOW_ALL)), None)
            text.take(_RANK_HINTS)
            assert n is not None
            if shown is not None and n == 1:  # "which …? Show the averages for all four": each
                n = numbers.parse(shown.group("n") or "") or 10
            other = re.search(
                r"\b(?:e|and)\s+(?:(?:a|o|the)\s+)?(?:(?P<down>menor|lowest|smallest|least)"
                r"|(?P<up>maior|highest|largest|most))\b(?=\s*[?.!]?\s*$)",
                text.current,
            )
            if other is None and sup is not None:  # "a maior e a menor carga": both, at once
                other = _OTHER_END.match(text.current, sup.end())
            if (
                other is not None
                and n == 1
                and bottom is not None
                and bool(other.group("down")) != bottom
            ):  # "qual teve a maior carga? e a menor?": all of them, ranked, first and last
                n = 10
                text.consume(other.start(), other.end())
                st.assumptions.append("the highest and the lowest: every one, ranked")
            restated = [
                m
                for p in (_RANK_TOP, _RANK_ADJ_N)
                for m in text.finditer(p)
                if m.start() > match.end()
                and (m.groupdict().get("adj") or m.group("dir") or "")
                in ((_DOWN_WORDS if bottom else _UP_WORDS) | {""})
            ]
            later = min(restated, key=lambda m: m.start(), default=None)
            if later is not None and not groups.get("n") and pattern is _RANK_WHICH:
                # "which state …? Give me the top 5 states", "quais térmicas mais geraram? as
                # 10 maiores": that many, ranked
                n = numbers.parse(later.group("n")) or n
                tail = re.match(r"\s*(?:" + _ENTITY_ANY + r")\b", text.current[later.end() :])
                text.consume(later.start(), later.end() + (tail.end() if tail else 0))
            st.rank = _Rank(n, bool(bottom), entity)
            kind = re.search(r"\b(?:eolic|wind|solar)", text.norm[match.start() : match.end()])
            if kind is None and entity == "plant" and after is not None:
                span = text.norm[match.end() : match.end() + after.end()]
                kind = re.search(r"\b(?:eolic|wind|solar)", span)
            if kind is not None:  # "wind farms", "parques eólicos": the type is a filter too
                key = "solar" if kind.group(0) == "solar" else "wind"
                st.measures.append((match.start(), key, kind.group(0)))
            if entity in ("plant", "state", "source", "fuel"):
                st.plant_context = True
            return
        plants = st.plant_context or re.search(r"\b" + _PLANT_WORD + r"\b", text.current)
        if plants and text.take(_RANK_HINTS):
            st.rank = _Rank(10, False, None)
            return
        # "ranking do CMO médio por submercado, do mais caro pro mais barato": the groups ranked
        by = re.search(r"\b(?:por|by|per)\s+(?:" + _ENTITY_ANY + r")\b", text.current)
        word = next(iter(text.finditer(_RANKING_WORD)), None)
        if by is not None and word is not None:
            entity = next(k for k, v in by.groupdict().items() if v)
            text.consume(word.start(), word.end())
            sup = next(iter(text.finditer(_SUPERLATIVE)), None)
            bottom = False
            if sup is not None:  # "from lowest to highest": the first word says which comes first
                bottom = bool(sup.group("down"))
                text.consume(sup.start(), sup.end())
            st.rank = _Rank(10, bottom, entity)

    def _over_previous(self, st: _State) -> None:
        """ "YoY", "month-over-month", "semana contra semana": one period compared with the one
        before it (a year, a month or a week earlier); with two periods named, only a word."""
        for match in st.text.take(_OVER_PREVIOUS):
            shift = "12mo" if match.group("y") else "1mo" if match.group("m") else "7d"
            spans = st.reading.spans
            if len(spans) == 1:
                st.reading.spans = [spans[0], P.back(spans[0], shift)]
            elif not spans:
                st.unmapped.append(
                    Unmapped("period", match.group(0), "compared with what period? Name one")
                )

    def _transforms(self, st: _State) -> None:
        text = st.text
        for match in text.take(_MOVING_AVG_PREFIX) + text.take(_MOVING_AVG):
            n = numbers.parse(match.group("n")) if match.group("n") else None
            if match.group("n") and (n is None or n < 2):
                st.unmapped.append(
                    Unmapped("number", match.group("n"), "a moving average needs 2 or more points")
                )
                continue
            unit = match.group("unit") or ""
            window = None
            if unit.startswith(("dia", "day")):
                window = "1d"
            elif unit.startswith(("hora", "hour")):
                window = "1h"
            elif unit.startswith(("sem", "week")):
                window = "1w"
            elif unit.startswith(("mes", "month")):
                window = "1mo"
            st.transform = (TransformKind.MOVING_AVERAGE, n, window)
        if text.take(_TREND):
            st.transform = (TransformKind.DERIVATIVE, None, None)
        if text.take(_CUMULATIVE):
            st.transform = (TransformKind.CUMULATIVE_SUM, None, None)
        stock = re.search(
            r"\b(?:ear|armazenamento|armazenada|stored|storage|reservatorios?"
            r"|reservoirs?)\b",
            text.norm,
        )
        did = re.search(r"\bdid\b", text.norm) and _STOCK_VERB.search(text.current)
        if len(st.reading.spans) == 1 and stock and (_STOCK_CHANGE.search(text.norm) or did):
            # "quanto o armazenamento caiu neste trimestre": the stock at the end minus at the
            # start (in percentage points for the percentage)
            text.take(_STOCK_CHANGE)
            if did:
                text.take(_STOCK_VERB)
            if text.take(_POINTS):  # "in percentage points": the percentage's change too
                st.percent = True
            st.stock_change = True
        percent = len(st.reading.spans) > 1 and bool(text.take(_CHANGE_PERCENT))
        if len(st.reading.spans) > 1 and (text.take(_CHANGE) or percent):
            # "variação de fev/23 para fev/24": between the periods, not within each
            if stock:
                text.take(_POINTS)  # "caiu entre 1º de maio e 30 de novembro, em p.p."
            st.assumptions.append(
                "a change between periods: each period's value (the change is the difference "
                "of the values"
                + (", in percent (later − earlier) / earlier × 100)" if percent else ")")
            )
        elif text.take(_DIFFERENCE):
            st.transform = (TransformKind.DIFFERENCE, None, None)
        if text.take(_RATIO):
            st.ratio = True

    def _grouping(self, st: _State) -> None:
        for match in st.text.take(_PER_DAY_AVERAGE):
            st.per_day = True
            st.aggregations.append((match.start(), Aggregation.MEAN, match.group(0)))
        for match in st.text.take(_PER_HOUR_AVERAGE):
            st.aggregations.append((match.start(), Aggregation.MEAN, match.group(0)))
        for pattern, window in _GROUP_TIME_RX:
            for match in st.text.take(pattern):
                n = match.groupdict().get("n")
                if n is not None:
                    count = numbers.parse(n)
                    if count is None or count < 1:
                        st.unmapped.append(Unmapped("number", n, "not a whole number of units"))
                        continue
                    st.window = window.format(n=count)
                else:
                    st.window = window
        for pattern, window in _GRAIN_ADJ_RX:
            if st.text.take(pattern) and st.grain_adj is None:
                st.grain_adj = window
        for pattern, tag in _GROUP_TAG_RX:
            before = st.text.current
            if st.text.take(pattern) and tag not in st.group_tags:
                st.group_tags.append(tag)
                if tag != "id_subsistema":
                    st.plant_context = True
                else:  # "e nos 4 submercados?": the place asked before, replaced by all
                    st.mark(PLACE, before)
        if st.text.take(_BY_SOURCE):
            st.by_source = True
        if _THEIR.search(st.text.current):
            named = [t for pattern, t in _PLURAL_ENTITIES if pattern.search(st.text.norm)]
            if len(named) == 1:
                st.text.take(_THEIR)
                if named[0] not in st.group_tags:
                    st.group_tags.append(named[0])
                    st.plant_context = st.plant_context or named[0] != "id_subsistema"

    def _share(self, st: _State) -> None:
        if st.text.take(_SHARE):
            st.share = True
            st.text.take(_SERVED_BY)

    def _patamar(self, st: _State) -> None:
        match = next(iter(st.text.take(_PATAMAR)), None)
        if match is not None:
            word = next(w for w in match.group("pt", "load", "en", "en2") if w)
            st.patamar = (PATAMAR_FIELDS[word], match.group(0).strip())

    def _measures(self, st: _State) -> None:
        for match in st.text.take(_NET_LOAD):  # "net load": the load less wind and solar
            st.net_load = (match.start(), match.group(0))
        for match in st.text.take(_EXCLUDED_KIND):  # "térmicas, desconsiderando as nucleares"
            kind = next(k for p, k in _MEASURES_RX if p.search(match.group("kind")))
            st.excluded.append((kind, match.group(0).strip()))
        balance = st.text.take(_BALANCE)
        for pattern, key in _MEASURES_RX:
            for match in st.text.take(pattern):
                st.measures.append((match.start(), key, match.group(0)))
        if not st.measures:  # the whole balance; beside a measure it names the source
            for match in balance:
                for key in ("load", "hydro", "thermal", "wind", "solar", "interchange"):
                    st.measures.append((match.start(), key, match.group(0)))
        if any(k in ("ena", "ena_storable") for _, k, _ in st.measures):
            for match in st.text.take(_ENA_QUALIFIER):  # "ENA armazenável vs bruta"
                key = "ena" if match.group("q") in ("bruta", "gross") else "ena_storable"
                st.measures.append((match.start("q"), key, match.group("q")))
            storable = list(_STORABLE.finditer(st.text.norm))  # beside the ENA as written
            if storable and not _GROSS.search(st.text.norm):
                # "stored-inflow ENA (armazenável)": the storable inflow, named apart
                for match in storable:
                    st.text.consume(match.start(), match.end())
                st.measures = [
                    (p, "ena_storable" if k == "ena" else k, t) for p, k, t in st.measures
                ]
            if any(k == "ena" for _, k, _ in st.measures):
                st.text.take(_GROSS)  # "ENA (bruta, MWmed)": the gross inflow, as read
        if st.which_way and not st.measures:  # "was the SE a net importer or exporter?"
            st.measures.append((0, "interchange", "net importer or exporter"))
        st.measures.sort()
        if st.share:  # "of total generation (hydro + thermal + wind + solar)": the total, spelt out
            sums = [m.span() for m in re.finditer(r"\([^()]*\+[^()]*\)", st.text.orig)]
            outside = [m for m in st.measures if not any(a <= m[0] < b for a, b in sums)]
            if sums and outside:
                st.measures = outside
                st.plus_read = True
        sources = [m for m in st.measures if m[1] in SOURCES]
        others = [
            m for m in st.measures if m[1] not in SOURCES and not m[1].startswith("generation")
        ]
        if len(sources) > 1 and not others:
            joins = [(a[0], _ADDED.search(st.text.norm, a[0], b[0])) for a, b in pairwise(sources)]
            each = re.search(r"\b(?:cada\s+uma?|each|separad[oa]s?|separately)\b", st.text.norm)
            last = sources[-1][0] + len(sources[-1][2])
            together = _TOGETHER.match(st.text.norm, last)  # "wind and solar together"
            if together and not each:
                joins = [
                    (a[0], _AND_JOIN.search(st.text.norm, a[0], b[0])) for a, b in pairwise(sources)
                ]
                if all(found for _, found in joins):
                    st.text.consume(together.start("w"), together.end("w"))
            if all(found for _, found in joins) and not each:
                st.sources_added = st.plus_read = True  # "eólica + solar": one sum
                for _, found in joins:
                    assert found is not None
                    st.text.consume(found.start(), found.end())
        self._subtracted(st)
        st.percent = bool(st.text.take(_PERCENT)) or st.percent
        scheduled = [m for m in st.measures if m[1] == "interchange_scheduled"]
        verified = _VERIFIED.search(st.text.norm)
        interchange = [m for m in st.measures if m[1] == "interchange"]
        alone = next(iter(st.text.finditer(_SCHEDULED_WORD)), None)
        if interchange and alone is not None and verified:  # "scheduled vs verified interchange"
            st.text.consume(alone.start(), alone.end())
            st.measures = [
                (p, "interchange_scheduled" if k == "interchange" else k, t)
                for p, k, t in st.measures
            ]
            scheduled = [m for m in st.measures if m[1] == "interchange_scheduled"]
        if scheduled and verified:  # "programado e verificado": both, never only one of the two
            st.both_interchanges = (
                f"{scheduled[0][2]} / {st.text.original(verified.start(), verified.end())}"
            )

    def _subtracted(self, st: _State) -> None:
        """ "load minus wind minus solar", "carga líquida" (net load: the load less wind and
        solar, what the other plants must meet): the first measure less the others."""
        if st.net_load is not None and {k for _, k, _ in st.measures} <= {"load"}:
            at, said = st.net_load
            st.measures = [(at, "load", said), (at + 1, "wind", ""), (at + 2, "solar", "")]
            st.assumptions.append(f"{said!r}: the load less wind and solar")
            st.subtracted = True
            return
        if st.net_load is not None:  # "net load = load minus wind minus solar": as written
            st.assumptions.append(f"{st.net_load[1]!r}: as written")
        if len(st.measures) < 2:
            return
        joins = [
            _LESS.fullmatch(st.text.norm, a[0] + len(a[2]), b[0]) for a, b in pairwise(st.measures)
        ]
        if all(joins):
            st.subtracted = True
            for join in joins:
                assert join is not None
                st.text.consume(join.start("op"), join.end("op"))

    def _subsystems(self, st: _State) -> None:
        text = st.text
        for pattern, code in _SUBSYSTEMS:
            pattern_rx = rx(
                r"\b(?:(?:(?:o|a|no|na|do|da|de|in|of|the|for)\s+)?(?:regiao|subsistema"
                r"|submercado|region|subsystem)\s+)?(?:" + pattern + r")(?:\s+(?:region|subsystem"
                r"|regiao|subsistema|submercado|submarket))?\b"
            )
            for match in text.take(pattern_rx):
                st.subsystems.append((match.start(), code, match.group(0)))
        for match in _NATIONAL.finditer(text.norm):
            if text.current[match.start() : match.end()].strip():
                st.subsystems.append((match.start(), "SIN", match.group(0)))
                text.consume(match.start(), match.end())
        current = text.current
        for match in _SUBSYSTEM_CODES.finditer(text.orig):
            if current[match.start() : match.end()].strip():
                code = "SE" if "CO" in match.group(1) else match.group(1)
                st.subsystems.append((match.start(), code, match.group(0)))
                text.consume(match.start(), match.end())
        norm = text.norm
        for match in _SUBSYSTEM_LOWER.finditer(text.current):
            conditional = match.group(1) == "se" and _IF_CLAUSE.search(norm[match.end() :])
            if conditional and _MEASURE_BEFORE.search(norm[: match.start()]):
                st.unmapped.append(
                    Unmapped(
                        "combination",
                        text.original(match.start(), len(norm)).strip(),
                        "a yes-or-no question ('se … ficou abaixo de …') is not answered: ask "
                        "for the values, or for how many hours met the condition",
                    )
                )
            if _MEASURE_BEFORE.search(norm[: match.start()]) and not conditional:
                st.subsystems.append((match.start(), match.group(1).upper(), match.group(0)))
                text.consume(match.start(), match.end())
        st.subsystems.sort()
        # two subsystem names joined into one region ("Midwest-South region") name none of them
        norm = text.norm
        for (a_pos, _, a_text), (b_pos, _, b_text) in zip(
            st.subsystems, st.subsystems[1:], strict=False
        ):
            between = norm[a_pos + len(a_text) : b_pos]
            after = norm[b_pos + len(b_text) :]
            one_region = re.search(r"\b(?:region|regiao|subsistema|subsystem)$", b_text) or (
                re.match(r"\s*(?:region|regiao|subsistema|subsystem|submercado)\b", after)
            )
            if re.fullmatch(r"\s*[-/]\s*", between) and one_region:
                shown = text.original(a_pos, b_pos + len(b_text))
                st.unmapped.append(
                    Unmapped(
                        "subsystem",
                        shown,
                        "not a subsystem of the SIN",
                        tuple(SUBSYSTEM_NAMES.values()),
                    )
                )

    def _direction(self, st: _State) -> None:
        """Verbs and nouns of interchange: who sends energy to whom."""
        text = st.text
        subs = st.subsystems
        for exporting, verb_rx, noun in (
            (True, _EXPORT_VERB, False),
            (False, _IMPORT_VERB, False),
            (True, _EXPORT_NOUN, True),
            (False, _IMPORT_NOUN, True),
        ):
            match = next(iter(text.finditer(verb_rx)), None)
            if match is None:
                continue
            text.consume(match.start(), match.end())
            norm = text.norm
            after = [s for s in subs if s[0] >= match.end()]
            before = [s for s in subs if s[0] < match.start()]
            partner_to = next(
                (s for s in after if _PARTNER_TO.search(norm[match.end() : s[0]])), None
            )
            partner_from = next(
                (s for s in after if _PARTNER_FROM.search(norm[match.end() : s[0]])), None
            )
            # "importação pelo / no Nordeste": the subsystem that imports (or exports)
            by = next(
                (
                    s
                    for s in after
                    if _PARTNER_BY.search(norm[match.end() : s[0]])
                    or (_LEADS_BY.match(s[2]) and _NOTHING_BETWEEN.search(norm[match.end() : s[0]]))
                ),
                None,
            )
            if noun and exporting:  # "exportação do Nordeste para o Sudeste"
                subject, other = partner_from or by, partner_to
            elif noun:  # "importação do Nordeste" is the Northeast's, as "importação para o NE"
                subject = partner_to or partner_from or by
                other = partner_from if partner_to is not None else None
                if subject is None:
                    subject = before[-1] if before else None
            else:
                subject = before[-1] if before else (after[0] if after else None)
                other = partner_to if exporting else partner_from
                if other is not None and subject is other:
                    other = None
            if subject is None:
                if not exporting and st.rank is not None and st.rank.entity == "subsystem":
                    # "qual subsistema importou mais": the lowest net interchange (exports > 0)
                    st.rank = _Rank(st.rank.n, not st.rank.bottom, st.rank.entity)
                    st.assumptions.append(
                        "imports are the net interchange below zero: the lowest ranks first"
                    )
                st.measures.append((match.start(), "interchange", match.group(0)))
                return
            ongoing = re.search(r"(?:ando|ing)$", match.group(0))
            if other is None and ongoing and _HOURS_WHILE.search(norm):
                # "quantas horas o NE ficou exportando?": the hours its net interchange (> 0
                # when it exports) was above zero, or below it for importing
                st.conditions.append((">" if exporting else "<", 0.0, match.group(0)))
                st.net = ("export", subject[1])
                st.assumptions.append(
                    "exporting: a net interchange above zero; importing: below zero"
                )
            elif other is not None and other[1] != subject[1]:
                st.flow = (subject[1], other[1]) if exporting else (other[1], subject[1])
            else:
                st.net = ("export" if exporting else "import", subject[1])
            st.measures.append((match.start(), "interchange", match.group(0)))
            st.measures.sort()
            return

    def _aggregations(self, st: _State) -> None:
        if st.text.take(_ALL_TIME):
            st.all_time = True
        for match in _WHICH_MORE.finditer(st.text.norm):  # "higher in Jan or in Feb?"
            st.text.consume(match.start(), match.end())
        for pattern, agg in _AGG_RX:
            for match in st.text.take(pattern):
                if match.group(0) in ("high", "low") and re.search(
                    r"\b(?:was|were|is|are|been|be)\s+(?:\w+\s+){0,3}$",
                    st.text.norm[: match.start()],
                ):  # "was the CMO high?": an adjective, a yes or no
                    st.text.restore(match.start(), match.end())
                    continue
                after = st.text.norm[match.end() :]
                than = re.match(r"\s+(?:do\s+)?que\b", after) and re.match(
                    P.COMPARATIVE, st.text.norm[match.start() :]
                )  # "maior do que em 2022": a comparison, not the maximum
                which = re.match(  # "foi maior em abril ou em março?": which one, compared
                    r"(?:maior|menor|higher|lower|bigger|smaller|larger|greater)\s+(?:em|no|na|in"
                    r"|on|during)\b[^?.!]*\b(?:ou|or)\b",
                    st.text.norm[match.start() :],
                )
                if than:
                    st.text.restore(match.start(), match.end())
                    continue
                if which:  # the periods say what is compared: the word is read
                    continue
                verb = re.match(r"(?:bat|set|broke|hit|quebr)", match.group(0))
                if verb and not st.asks_when:  # "did it set a new record?": a yes or no
                    st.unmapped.append(
                        Unmapped(
                            "combination",
                            st.text.original(match.start(), match.end()),
                            "whether a new record was set is not answered: ask for the maximum "
                            "and when it occurred",
                            ("qual foi a carga máxima do SIN em 2023 e quando ocorreu",),
                        )
                    )
                    continue
                st.aggregations.append((match.start(), agg, match.group(0)))
                st.all_time = st.all_time or "record" in match.group(0)
        if st.reached is not None and not any(a in SELECTORS for _, a, _ in st.aggregations):
            st.aggregations.append(st.reached)  # "how high did it go": the maximum reached
        stock = st.measures and all(k in ("ear", "ear_max") for _, k, _ in st.measures)
        if (
            stock
            and st.asks_value
            and not (st.aggregations or st.reading.spans or st.reading.days or st.reading.hours)
            and not (st.window or st.grain_adj or st.rank or st.time_rank or st.compare)
            and not (st.transform or st.conditions or st.wants_series or st.by_hour_of_day)
            and not st.by_day_of_week
        ):  # "qual a capacidade de armazenamento do SE?": a level asked, its latest value
            st.aggregations.append((0, Aggregation.LAST, ""))
            st.assumptions.append("a stock asked without a period: its latest value")
        st.aggregations.sort()
        extreme = {Aggregation.MAX, Aggregation.MIN} & {a for _, a, _ in st.aggregations}
        if (extreme or st.rank) and st.reading.so_far and not st.reading.spans:
            st.all_time = True  # "a maior carga até hoje": the record so far, over all the data
        if any(a is Aggregation.COUNT for _, a, _ in st.aggregations):  # what a count counts
            st.text.take(rx(r"\b(?:records|registros|rows|linhas|pontos|points|values|valores)\b"))

    def _conditions(self, st: _State) -> None:
        text = st.text
        for match in text.take(_COUNT_STEPS):
            grain = "30m" if match.group("half") else "1h" if match.group("hour") else "1d"
            st.counted = (grain, match.group(0).strip())
            st.aggregations.append((match.start(), Aggregation.COUNT, match.group(0)))
            if match.group("data"):
                st.counted = None  # "quantas horas de dados": every point counts
        if st.counted is not None and st.counted[0] == "1d":
            # "quantos dias inteiros …", "in every hour", "o dia todo": all of each day
            st.whole_window = bool(text.take(_ALL_DAY))
            for match in _WHOLE_DAYS.finditer(text.norm):
                part = next(g for g in ("w", "w2", "w3") if match.group(g))
                text.consume(match.start(part), match.end(part))
                st.whole_window = True
        for match in text.take(_ZERO):  # "ficou zerada", "parada", "at zero"
            st.conditions.append(("<=", 0.0, text.original(match.start(), match.end()).strip()))
        if st.conditions and _BELOW_A_NUMBER.search(text.current):
            # "praticamente parada, com geração abaixo de 10 MWmed": the number says what
            # stopped means here; the stopped state is not a second condition
            st.conditions = [c for c in st.conditions if (c[0], c[1]) != ("<=", 0.0)]
        if st.counted is not None:  # "in how many hours was the net interchange negative?"
            for match in text.take(_SIGN):
                op = "<" if match.group("neg") else ">"
                st.conditions.append((op, 0.0, text.original(match.start(), match.end()).strip()))
        for match in text.finditer(_CONDITION):
            if _PLANT_SIZE.search(text.norm[: match.start()]):  # "usinas acima de 1000 MW"
                text.consume(match.start(), match.end())
                st.unmapped.append(
                    Unmapped(
                        "combination",
                        text.original(match.start(), match.end()).strip(),
                        "plants by size: installed capacity is not in the data",
                    )
                )
        for match in text.take(_CONDITION):
            word = match.group("op").split()[0]
            op = next(op for stem, op in _CONDITION_OPS.items() if word.startswith(stem))
            value = _condition_number(match.group("n"))
            shown = text.original(match.start(), match.end()).strip()
            if value is None:
                st.unmapped.append(Unmapped("number", shown, "not a number as written"))
                continue
            prefix = text.norm[: match.start()]
            copula = _COPULA.match(match.group(0)) or _COPULA_BEFORE.search(prefix)
            days_counted = st.counted is not None and st.counted[0] == "1d"
            if _OF_AGGREGATE.search(prefix) and copula and not days_counted:
                # "a carga média foi superior a 40 mil?": the mean compared, not the mean of
                # the points above it — given, to compare (said)
                st.unmapped.append(
                    Unmapped(
                        "combination",
                        shown,
                        "whether an average, total or extreme passed a threshold: ask for it and "
                        "compare (a condition keeps the points that meet it before aggregating)",
                    )
                )
                continue
            present = (
                re.search(r"\b(?:esta|ta|is|are|anda)\s*$", prefix)
                or re.match(r"\s*(?:is|are)\b", match.group(0))
                or re.match(r"\W*(?:is|are)\b", text.norm)  # "is the SE load above …?"
            )
            if present and not st.reading.spans and text.orig.rstrip().endswith("?"):
                # "a carga do SE está maior que 50 GW?": the value now, compared (said)
                st.unmapped.append(
                    Unmapped(
                        "combination",
                        shown,
                        "is it above or below now? A yes or no on the latest value: ask for the "
                        "latest value and compare",
                    )
                )
                continue
            if match.group("scale"):
                value *= 1_000_000 if match.group("scale").startswith("milh") else 1000
            if match.group("giga"):  # "above 80 GW": the data is in MW
                value *= 1000
            st.conditions.append((op, value, shown))

    def _one_above_the_other(self, st: _State) -> None:
        """ "In how many half-hours was the South CMO higher than the Southeast's?": the steps
        where one subsystem's value passed the other's, counted on their difference."""
        codes = list(dict.fromkeys(code for _, code, _ in sorted(st.subsystems)))
        if st.counted is None or st.conditions or len(codes) != 2:
            return
        first, second = sorted(st.subsystems)[0], sorted(st.subsystems)[-1]
        if "SIN" in codes or len({k for _, k, _ in st.measures}) > 1:
            return  # the SIN holds each subsystem; another measure is no peer's same value
        for match in st.text.finditer(_THAN_THE_OTHER):
            # only a subsystem after the comparative ("the SE's", "o do Sul"): another measure
            # or an aggregate there ("the NE wind", "a média do SIN") is no peer's same value
            between = st.text.norm[match.end() : second[0]]
            if not first[0] < match.start() < second[0] or between.strip():
                continue
            st.text.consume(match.start(), match.end())
            up = not re.match(r"lower|smaller|below|menor|abaixo|inferior|mais\s+baix", match[0])
            st.subsystem_difference = (first[1], second[1])
            st.conditions.append((">" if up else "<", 0.0, match.group(0).strip()))
            return

    def _spread_between(self, st: _State) -> None:
        """ "SE-NE spread", "spread entre SE e NE": traders mean the difference between the two
        subsystems, not each one's max - min (InfluxDB's spread): refused, not misread."""
        codes = list(dict.fromkeys(code for _, code, _ in sorted(st.subsystems)))
        spread = [shown for _, agg, shown in st.aggregations if agg is Aggregation.SPREAD]
        measures = {k for _, k, _ in st.measures}
        if (
            not spread
            and len(codes) == 2
            and len(measures) == 1
            and not any(k.startswith("interchange") for k in measures)
            and len(st.reading.spans) <= 1
            and st.text.take(_DIFFERENCE_OF_TWO)
        ):
            spread = ["diferença"]  # "a diferença entre o CMO do SE e do NE": as a spread
        if spread and len(codes) == 2:
            # each one and their difference, in the order written ("SE-NE": SE − NE)
            st.subsystem_difference = (codes[0], codes[1])
            st.aggregations = [a for a in st.aggregations if a[1] is not Aggregation.SPREAD]
            st.text.take(_MINUS)
            st.assumptions.append(
                f"the spread between {codes[0]} and {codes[1]}: each one's value and the "
                f"difference of the values, {codes[0]} − {codes[1]} (over a period, the difference "
                "of the two means: the mean of the differences when both have every point)"
            )

    def _compare(self, st: _State) -> None:
        if st.text.take(_COMPARE):
            st.compare = True

    def _known_plant_names(self, st: _State) -> None:
        """A capitalised name the data holds as a plant names it wherever it stands ("Tucuruí
        generation", "Xingó: geração máxima"), with or without its accents; written in lower
        case too when the question asks for generation ("geração de tucurui") or for its hours
        at zero, unless it is one short or ordinary word."""
        keys = {k for _, k, _ in st.measures}
        plant_measures = {"generation", "generation_total", *PLANT_TYPES}
        if self.plants is None or (keys and not keys & plant_measures):
            return
        known = self._known_plants()
        if not known:
            return
        longest = max(len(n.split()) for n in known)
        orig, text = st.text.orig, st.text
        # an explicit generation measure, or a plant said to stand still ("angra 1 ficou parada")
        lower = bool(keys) or bool(_ZERO.search(st.text.norm))
        for match in re.finditer(r"(?<![\wÀ-ÿ])[\wÀ-ÿ]", orig):
            start = match.start()
            capital = match.group(0).isupper()
            if not capital and not lower:
                continue
            words = list(re.finditer(r"[\wÀ-ÿ.'-]+", orig[start:]))[:longest]
            for k in range(len(words), 0, -1):
                end = start + words[k - 1].end()
                while end > start and orig[end - 1] == ".":  # "… and Paulo Afonso IV."
                    end -= 1
                if text.current[start:end] != text.norm[start:end]:
                    continue  # partly read as something else already
                name = _name_key(orig[start:end])
                if not capital and k == 1 and (len(name) < 5 or name in _VOCABULARY_SET):
                    continue
                if name in known:
                    st.plant_names.append(orig[start:end])
                    text.consume(start, end)
                    st.plant_context = True
                    break

    def _late_plant_names(self, st: _State) -> None:
        """A capitalised name right after "geração de" / "generation of", or before "'s
        generation", names a plant."""
        if not any(k in ("generation", *PLANT_TYPES) for _, k, _ in st.measures):
            return
        orig, current, norm = st.text.orig, st.text.current, st.text.norm
        for match in re.finditer(r"[A-ZÀ-Ý][\wÀ-ÿ.-]*", orig):
            if not current[match.start() : match.end()].strip():
                continue
            end = _capitalised_run(orig, match.start())
            if not current[match.start() : end].strip():
                continue
            before = norm[: match.start()]
            after = norm[end:]
            if re.search(
                r"\b(?:geracao|generation|output|producao|gerou|generated)\s+(?:(?:media|horaria"
                r"|average|hourly|total|diaria|daily)\s+)*(?:of|de|da|do)\s*$",
                before,
            ):
                spans = _name_runs(orig, match.start())
                st.plant_names += [orig[a:b].strip() for a, b in spans]
                st.text.consume(match.start(), spans[-1][1])
                st.plant_context = True
            elif re.match(
                r"'s\s+(?:(?:average|hourly|total|daily)\s+)*(?:generation|output)", after
            ):
                st.plant_names.append(orig[match.start() : end].strip())
                st.text.consume(match.start(), end + 3)
                st.plant_context = True
        # the plant as the subject: "Belo Monte gerou", "how much did Itaipu generate"
        for verb in re.finditer(_GENERATED, norm):
            begin = _capitalised_run_backwards(orig, verb.start())
            while begin < verb.start() and not current[begin].strip():
                begin += 1  # words already read ("In 2024 Itaipu generated")
            name = orig[begin : verb.start()].strip()
            if name and orig[begin].isupper() and not re.search(r"[,;]", name):
                names = [name]
                while joint := re.search(r"(?:,|\s(?:e|and))\s*$", orig[:begin]):
                    earlier = _capitalised_run_backwards(orig, joint.start())
                    if earlier >= joint.start() or not current[earlier : joint.start()].strip():
                        break
                    names.insert(0, orig[earlier : joint.start()].strip())
                    begin = earlier
                st.plant_names += names
                st.text.consume(begin, verb.start())
                st.plant_context = True
                continue
            after = re.match(r"\s+", orig[verb.end() :])  # "quanto gerou Itaipu"
            start = verb.end() + (after.end() if after else 0)
            spans = _name_runs(orig, start) if orig[start : start + 1].isupper() else []
            if spans and current[start : spans[0][1]].strip():
                st.plant_names += [orig[a:b].strip() for a, b in spans]
                st.text.consume(start, spans[-1][1])
                st.plant_context = True

    def _leftovers(self, st: _State) -> None:
        current = st.text.current
        for match in re.finditer(r"[a-z0-9]+(?:[-'.,][a-z0-9]+)*", current):
            word = match.group(0)
            if word in _STOPWORDS or (len(word) == 1 and not word.isdigit()):
                continue
            original = st.text.original(match.start(), match.end())
            st.unmapped.append(_not_understood(word, original, match.start(), st.text))

    # -- building the model ---------------------------------------------------------------------
    def _build(self, st: _State) -> QueryModel | None:
        extremes = {a for _, a, _ in st.aggregations} & {Aggregation.MAX, Aggregation.MIN}
        # "highest hourly output of any single …": the data's own grain, not a window of it
        own_grain = st.grain_adj in (None, "1h", "30m")
        if st.any_single and st.rank is None and len(extremes) == 1 and own_grain:
            # "the highest output of any single wind farm": the plants ranked by that extreme,
            # the first one answers (with its name and time)
            st.rank = _Rank(1, Aggregation.MIN in extremes, "plant")
        elif st.any_single:  # "average output of any single wind farm": which one?
            st.unmapped.append(
                Unmapped(
                    "combination",
                    "any single",
                    "one plant's highest or lowest value is read; for another aggregate, rank "
                    "the plants (top 1)",
                )
            )
        keys = [k for _, k, _ in st.measures]
        for _, key, shown in st.measures:
            if key.startswith("unsupported:"):
                st.unmapped.append(
                    Unmapped(
                        "measure",
                        shown,
                        "prices (PLD) are not in the data; the marginal "
                        "operating cost (CMO) is: ask for CMO",
                        ("CMO", "custo marginal de operação"),
                    )
                )
        keys = [k for k in keys if not k.startswith("unsupported:")]
        if st.fullness and keys and not all(k.startswith("ear") for k in keys):
            st.unmapped.append(
                Unmapped(
                    "combination",
                    "% da capacidade",
                    "a percentage of capacity is known for stored energy (EAR) only: installed "
                    "capacity is not in the data",
                )
            )
        if not keys and st.by_source:
            keys = ["generation"]
        if not keys and st.legacy:
            keys = ["load" if st.legacy == "consumption" else "generation"]
        if not keys and st.plant_context and (st.rank or st.plant_names or st.group_tags):
            keys = ["generation"]
        refused_measure = any(u.kind == "measure" for u in st.unmapped)  # "o PLD em R$/MWh"
        if not keys and _PRICE_UNIT.search(st.text.norm) and not st.patamar and not refused_measure:
            # "o spread SE - NE, em R$/MWh": the data's one price is the marginal cost
            keys = ["cmo"]
            st.assumptions.append("R$/MWh: the marginal operating cost (CMO), the data's price")
        if not keys:
            if st.patamar is not None:
                st.unmapped.append(
                    Unmapped(
                        "measure",
                        st.patamar[1],
                        "a load level (patamar) qualifies the weekly CMO: ask for the CMO at it",
                        ("CMO semanal no patamar pesado",),
                    )
                )
            if not any(u.kind == "measure" for u in st.unmapped):
                st.unmapped.append(
                    Unmapped(
                        "measure",
                        st.text.orig.strip()[:80],
                        "no measure recognised (carga, geração, CMO, EAR, ENA, intercâmbio...)",
                        ("carga", "geração eólica", "CMO", "EAR", "ENA", "intercâmbio"),
                    )
                )
            return None
        # a generic "generation" word next to a source or other measure only describes it
        if "generation" in keys and any(k != "generation" for k in keys):
            keys = [k for k in keys if k != "generation"]
        if "generation_total" in keys and st.plant_context:
            st.total_word = True  # plants' "geração total": the amount they generated
        keys = ["generation" if k == "generation_total" else k for k in keys]
        keys = list(dict.fromkeys(keys))
        try:
            return self._model(st, keys)
        except ModelError as exc:
            st.unmapped.append(Unmapped("combination", st.text.orig.strip()[:80], str(exc)))
            return None

    def _several(self, st: _State) -> list[Aggregation]:
        """ "Média e máximo", "min and max": several aggregates of one measure in one statement,
        when nothing else shapes the answer (a ranking, a transform, a share). Asked with their
        times, each maximum or minimum is answered apart, at its own time."""
        aggs = list(dict.fromkeys(a for _, a, _ in st.aggregations))
        named = all(_AGG_NOUN.fullmatch(fold(t).strip()) for _, _, t in st.aggregations)
        found = sorted(st.aggregations)
        joined = all(  # "média e máximo", "min, max": not "média diária máxima" (one quantity)
            re.fullmatch(
                r"\s*(?:,|e|and|&|/)\s*(?:(?:o|a|the)\s+)?",
                st.text.norm[a + len(ta) : b],
            )
            for (a, _, ta), (b, _, _) in pairwise(found)
        )
        # "highest and lowest values": both extremes, never one ranking
        extremes = set(aggs) == {Aggregation.MAX, Aggregation.MIN} and not st.rank
        named = (named or extremes) and joined
        if (
            len(aggs) < 2
            or not named  # "maior", "menor" compare or rank: never a second aggregate
            or set(aggs) - _SEVERAL
            or st.rank
            or st.time_rank
            or st.transform
            or st.share
            or st.ratio
        ):
            return []
        if st.asks_when and {Aggregation.MAX, Aggregation.MIN} & set(aggs):
            # "min and max SIN load in the past 24 hours, with times": each extreme apart
            st.extreme_times = True
        elif set(aggs) <= {Aggregation.MAX, Aggregation.MIN}:
            # "max e min": each extreme at its time, as a single one is, where it can be
            st.extremes_alone = True
        elif {Aggregation.MAX, Aggregation.MIN} & set(aggs):
            st.assumptions.append("several aggregates together: values without their times")
        return aggs

    def _agg(self, st: _State, default: Aggregation) -> Aggregation:
        aggs = []
        for _, agg, _ in st.aggregations:
            if agg not in aggs:
                aggs.append(agg)
        count = Aggregation.COUNT
        if st.counted is not None and st.conditions and len(aggs) == 2 and count in aggs:
            # "quantos dias a carga média passou de 80 GW": days counted by their own mean
            st.window_agg, aggs = next(a for a in aggs if a is not count), [count]
        if len(aggs) > 1:
            shown = ", ".join(t for _, _, t in st.aggregations)
            st.unmapped.append(
                Unmapped("combination", shown, "several aggregations: ask once per aggregation")
            )
        if aggs:
            return aggs[0]
        if st.unit_mean and not st.unit_sum:
            return Aggregation.MEAN  # "quanto gerou … em MWmed": the mean power, as the unit says
        if st.unit_sum or st.amount or st.total_word:
            return Aggregation.SUM
        if st.transform is not None and st.transform[0] is TransformKind.CUMULATIVE_SUM:
            return Aggregation.SUM  # a running total of energy sums it, never its averages
        return default

    def _single(self, st: _State) -> bool:
        """The question asks for one value per group (and per period), not a series."""
        return bool(
            st.aggregations
            or st.rank
            or st.time_rank
            or st.share
            or st.amount
            or st.unit_sum
            or st.total_word
            or st.to_date
            or st.stock_change
            or st.options_compared
            or (st.asks_value and not st.wants_series)
            or len(st.reading.spans) > 1
            or ((st.reading.days or st.reading.hours) and st.grain_adj is None)
        )

    def _compared_whole(self, st: _State) -> bool:
        """ "Compare Jirau and Santo Antônio in 2022": one value each over the period."""
        if st.compare:
            st.assumptions.append("compared without a time grouping: one value each")
        return st.compare

    def _covering(self, st: _State, window: str | None) -> str | None:
        """A fixed window as long as the whole period groups nothing: the period's own value."""
        spans = st.reading.spans
        if window is None or not spans or st.transform is not None:
            return window
        duration = Duration.parse(window)
        if duration.is_calendar:
            return window
        shortest = min(s.end - s.start for s in spans)
        return None if timedelta(microseconds=duration.ns // 1000) >= shortest else window

    def _window(self, st: _State, grain: str) -> str | None:
        return self._covering(st, self._window_of(st, grain))

    def _window_of(self, st: _State, grain: str) -> str | None:
        window = st.window
        if st.transform is not None:
            kind, _, hint = st.transform
            window = window or hint or st.grain_adj
            if window is None:
                window = "1d"
                st.assumptions.append(f"{kind} without a time grouping: per day")
            return window
        if window is not None:
            return window
        if st.grain_adj is not None:
            if st.grain_adj == grain and (st.aggregations or st.amount or st.unit_sum):
                return None  # "a carga mínima horária": the hourly values, aggregated
            return st.grain_adj
        if st.raw is not None:
            return grain  # the stored points: checked against the data's own in _finish
        if self._single(st):
            return None
        if self._compared_whole(st):
            return None
        st.assumptions.append(f"no aggregation given: mean values per {grain}")
        return grain

    def _model(self, st: _State, keys: list[str]) -> QueryModel | None:
        codes = list(dict.fromkeys(code for _, code, _ in st.subsystems))
        if st.legacy_marked and not st.legacy:
            interchange = any(k.startswith("interchange") for k in keys)
            st.legacy = (
                "consumption" if "load" in keys else "transmission" if interchange else "generation"
            )
        if st.legacy:
            return self._legacy_model(st, keys, codes)
        plant = (
            st.plant_context
            or bool(st.states)
            or bool(st.fuels)
            or "nuclear" in keys
            or (st.rank is not None and st.rank.entity in ("plant", "state", "source", "fuel"))
        )
        if (
            plant
            and st.share
            and st.plant_context
            and not (st.states or st.fuels or st.plant_names or st.rank)
            and set(st.group_tags) <= {"id_subsistema"}  # "por combustível": the plants' data
            and "nuclear" not in keys
            # "% of plants that are solar" counts plants (refused): the generation is named
            and re.search(r"\b(?:geracao|generation|energia|energy|gerad[ao]|produ)", st.text.norm)
            and any(k in SOURCES for k in keys)
        ):  # "what % came from hydro plants": every hydro plant is the balance's hydro source
            plant = False
            st.assumptions.append("a kind of plant's share: its source's share of the balance")
        if plant and st.share and (st.rank is None or st.rank.entity == "subsystem"):
            # a share is computed of the balance's sources; a plant's, fuel's or state's share
            # would need the plants' data over the balance's total: refused, not given as energy
            st.unmapped.append(
                Unmapped(
                    "combination",
                    "share",
                    "a share is computed of a source (hidráulica, térmica, eólica, solar) in a "
                    "subsystem's or the SIN's total; the share of a plant, fuel or state is not: "
                    "ask for its generation and the total",
                    ("geração das usinas a gás do SE em 2023", "geração total do SE em 2023"),
                )
            )
            return None
        if plant:
            if st.share:
                st.assumptions.append("ranked by generation: the same order as by share")
            return self._plant_model(st, keys, codes)
        if st.flow is not None:
            return self._flow_model(st, keys, st.flow)
        if st.net is not None:
            return self._net_model(st, st.net)
        interchange = [k for k in keys if k.startswith("interchange")]
        if interchange and len(codes) >= 2 and self._directional(st):
            model = self._interchange_model(st, keys, codes)
            self._two_to_compare(st, 1, len(model.selections))  # one pair of subsystems
            return model
        stock = any(k.startswith(("ear", "ena")) for k in keys)
        if st.share and stock and not any(k in SOURCES for k in keys) and not st.by_source:
            st.share, st.percent = False, True  # "em %": the percentage field
        if st.share:
            return self._share_model(st, keys, codes)
        keys = self._mapped_datasets(st, keys, codes)
        tables = {self._table_of(k, keys, codes) for k in keys}
        if len(tables) > 1:
            st.unmapped.append(
                Unmapped(
                    "combination",
                    ", ".join(t for _, _, t in st.measures),
                    f"measures from different datasets ({', '.join(sorted(tables))}): ask "
                    "once per dataset",
                )
            )
            keys = [
                k
                for k in keys
                if self._table_of(k, keys, codes) == self._table_of(keys[0], keys, codes)
            ]
        table = self._table_of(keys[0], keys, codes)
        grain = _grain(table)
        several = self._several(st)
        agg = several[0] if several else self._agg(st, Aggregation.MEAN)
        fields = self._fields(st, table, keys)
        selections: list[Selection] | None = []
        for one in several or [agg]:
            part = self._selections(st, table, fields, one)
            selections = None if part is None or selections is None else selections + part
        if selections is None:
            return None
        if several and len(selections) != len(several):
            st.unmapped.append(
                Unmapped("combination", "several aggregations", "several aggregates of one measure")
            )
        filters: list[TagFilter] = []
        group = [t for t in st.group_tags if t == "id_subsistema"]
        for tag in st.group_tags:
            if tag != "id_subsistema":
                st.unmapped.append(
                    Unmapped(
                        "filter",
                        tag,
                        f"{table} has no {tag}: that grouping applies to plant generation (usinas)",
                    )
                )
        if group and len(codes) == 1 and codes != ["SIN"] and st.subsystem_difference is None:
            st.unmapped.append(
                Unmapped(
                    "combination",
                    f"{codes[0]}, per subsystem",
                    "one subsystem named and each subsystem asked: name several, or none for all",
                )
            )
        if codes == ["SIN"] and table in ("ear_diario", "ena_diario"):
            return self._sin_daily_sum(st, table, fields)
        if "SIN" in codes and table != "balanco_subsistema":
            st.unmapped.append(
                Unmapped("subsystem", "SIN", f"{table} has no SIN total, only subsystems")
            )
            codes = [c for c in codes if c != "SIN"]
        top = None
        if st.rank is not None:
            top = TopN(st.rank.n, "id_subsistema", st.rank.bottom)
            if codes:
                filters.append(TagFilter("id_subsistema", FilterOp.EQ, tuple(codes)))
            elif table == "balanco_subsistema":
                filters.append(TagFilter("id_subsistema", FilterOp.NE, ("SIN",)))
            group = [t for t in group if t != "id_subsistema"]
            if not st.aggregations and agg is Aggregation.MEAN:
                st.assumptions.append("ranked by the mean over the period")
        elif codes:
            filters.append(TagFilter("id_subsistema", FilterOp.EQ, tuple(codes)))
            if len(codes) > 1 and "id_subsistema" not in group:
                group.append("id_subsistema")
        elif table == "balanco_subsistema" and "id_subsistema" not in group:
            filters.append(TagFilter("id_subsistema", FilterOp.EQ, ("SIN",)))
            st.assumptions.append("no subsystem given: the SIN total")
        elif "id_subsistema" not in group:
            group.append("id_subsistema")
            st.assumptions.append("no subsystem given: one series per subsystem")
        elif table == "balanco_subsistema":  # "por subsistema": the four, not the SIN's total too
            filters.append(TagFilter("id_subsistema", FilterOp.NE, ("SIN",)))
        subjects = max(len(codes), 2 if "id_subsistema" in group else 0)
        self._two_to_compare(st, subjects, len(selections))
        window = self._window(st, grain)
        return self._finish(st, table, selections, filters, group, window, top)

    def _sin_daily_sum(self, st: _State, table: str, fields: list[str]) -> QueryModel | None:
        """The SIN's stored energy or inflow: the subsystems' values summed each day (its stored
        % is the sum stored over the sum of their capacities; an inflow in % of the long-term
        mean has no SIN sum); other aggregates of it are refused."""
        what = "stored energy" if table == "ear_diario" else "inflow (ENA)"
        if any(f.endswith("_percentualmlt") for f in fields):
            st.unmapped.append(
                Unmapped(
                    "subsystem",
                    "SIN",
                    "the SIN's ENA in % of the long-term mean (MLT) is not in the data: its "
                    "MWmed is the subsystems' sum",
                    ("ENA do SIN em MWmed ontem", "ENA de cada subsistema em % da MLT"),
                )
            )
            return None
        self._sin_on_last_days(st, table)
        window = st.window or st.grain_adj
        # "total do SIN, somando os subsistemas": the same daily sum
        asked = (
            any(a is not Aggregation.SUM for _, a, _ in st.aggregations) or st.rank or st.compare
        )
        if asked or st.transform or st.time_rank or st.conditions or window not in (None, "1d"):
            st.unmapped.append(
                Unmapped(
                    "subsystem",
                    "SIN",
                    f"the SIN's {what} is the sum of the subsystems' each day: it is "
                    "read day by day; ask for its daily values or per subsystem",
                    ("EAR do SIN por dia em fevereiro", "EAR média de cada subsistema em 2023"),
                )
            )
            return None
        stored, capacity = Agg(Aggregation.SUM, _EAR_STORED), Agg(Aggregation.SUM, _EAR_CAPACITY)
        selections = [
            Selection(BinOp("*", BinOp("/", stored, capacity), Const(100)), "sin_ear_percent")
            if field == "ear_verif_subsistema_percentual"
            else Selection(Agg(Aggregation.SUM, field), f"sin_{field}")
            for field in fields
        ]
        st.assumptions.append("the SIN: the subsystems' values summed each day")
        return self._finish(st, table, selections, [], [], "1d")

    def _sin_on_last_days(self, st: _State, table: str) -> None:
        """ "EAR do SIN no último dia de cada mês": the SIN's day (summed over the subsystems)
        on each month's (or year's) last day, one compared period each; for the month still
        running, its latest day with data."""
        months = {"1mo": 1, "1y": 12}.get(st.last_of_each or "")
        # "armazenamento total do SIN": the total is the subsystems' sum, as read after
        others = [a for _, a, _ in st.aggregations if a not in (Aggregation.LAST, Aggregation.SUM)]
        if others or st.rank or st.compare or st.transform or st.time_rank or st.conditions:
            return
        spans = st.reading.spans
        today = len(spans) == 1 and spans[0].start == P.midnight(st.now)  # "EAR do SIN hoje"
        if months is None and not st.reading.days and ((st.aggregations and not spans) or today):
            # "how full are Brazil's reservoirs now?": the SIN's latest day with data
            latest = self.latest(table) if self.latest is not None else None
            day = P.add_days(P.midnight(st.now), -1)
            if latest is not None:
                day = min(P.midnight(latest.astimezone(self.zone)), P.midnight(st.now))
            st.reading.spans = [P.Span(day, P.add_days(day, 1))]
            st.aggregations = []
            st.assumptions.append(
                f"the SIN's latest value: its latest day with data ({day:%Y-%m-%d})"
            )
            return
        if months is None or len(st.reading.spans) > 1 or st.reading.days:
            return
        span = st.reading.spans[0] if st.reading.spans else self._default_span(st, table)
        latest = self.latest(table) if self.latest is not None else None
        latest_day = P.midnight(latest.astimezone(self.zone)) if latest else None
        if latest_day is None or latest_day >= P.midnight(st.now):
            latest_day = P.add_days(P.midnight(st.now), -1)  # today's point may not be in yet
        days = P.last_days(span, months, latest_day)
        first = self.earliest(table) if self.earliest is not None else None
        days = [d for d in days if first is None or d.end > first]  # those the data holds
        if not days:
            return
        st.reading.spans = days
        st.aggregations = [a for a in st.aggregations if a[1] is not Aggregation.LAST]
        st.window = None
        unit = "month" if months == 1 else "year"
        st.assumptions.append(f"the last day of each {unit} (of a {unit} not over, its latest)")

    def _two_to_compare(self, st: _State, subjects: int, selections: int) -> None:
        if st.compare and subjects < 2 and selections < 2 and len(st.reading.spans) < 2:
            st.unmapped.append(
                Unmapped(
                    "combination",
                    "compare",
                    "comparing needs two subsystems, two measures or two periods",
                )
            )

    def _mapped_datasets(self, st: _State, keys: list[str], codes: list[str]) -> list[str]:
        """The weekly CMO and the daily load when the schema mapping holds them: "CMO semanal"
        (or a load level) reads the weekly CMO (one value per week); "carga diária" without an
        aggregation reads the daily load (with one, the hourly curve aggregated per day, as the
        daily peak is the maximum of hourly values)."""
        mapped = schema.tables()
        if st.patamar is not None and "cmo" not in keys:
            st.unmapped.append(
                Unmapped(
                    "combination",
                    st.patamar[1],
                    "load levels (leve, média, pesada) belong to the weekly CMO",
                    ("CMO semanal no patamar pesado",),
                )
            )
            st.patamar = None
        if "cmo" in keys and (st.grain_adj == "1w" or st.patamar is not None):
            if WEEKLY_CMO in mapped:
                keys = ["cmo_weekly" if k == "cmo" else k for k in keys]
            elif st.patamar is not None:
                st.unmapped.append(
                    Unmapped(
                        "measure",
                        st.patamar[1],
                        f"load levels are in the weekly CMO ({WEEKLY_CMO}), which the schema "
                        "mapping does not include",
                        ("CMO semanal", "CMO semi-horário"),
                    )
                )
        plain = not (st.aggregations or st.amount or st.unit_sum or st.transform or st.rank)
        daily = keys == ["load"] and st.grain_adj == "1d" and "SIN" not in codes
        if daily and plain and DAILY_LOAD in mapped:
            keys, st.grain_adj = ["load_daily"], None
        return keys

    def _directional(self, st: _State) -> bool:
        if len(st.subsystems) < 2:
            return False
        text = st.text.norm
        a_pos, _, a_text = st.subsystems[0]
        b_pos = st.subsystems[1][0]
        before = text[:a_pos]
        between = text[a_pos + len(a_text) : b_pos]
        return bool(
            (_BETWEEN_SUBSYSTEMS.search(before) and _AND.match(between))
            or (_FROM_TO.search(before) and _TO.match(between))
            or _bare_to(before, between)
            or _ARROW.match(between)
            or _PAIR.match(between)
        )

    def _table_of(self, key: str, keys: list[str], codes: list[str]) -> str:
        if key in SOURCES or key in ("generation", "interchange"):
            return "balanco_subsistema"
        if key == "interchange_scheduled":
            return "intercambio"
        if key == "load":
            others = [k for k in keys if k != "load"]
            if "SIN" in codes or any(k in (*SOURCES, "generation", "interchange") for k in others):
                return "balanco_subsistema"
            return "curva_carga"
        if key == "cmo":
            return "cmo_semihorario"
        if key == "cmo_weekly":
            return WEEKLY_CMO
        if key == "load_daily":
            return DAILY_LOAD
        if key.startswith("ear"):
            return "ear_diario"
        if key.startswith("ena"):
            return "ena_diario"
        raise ModelError(f"no dataset holds {key!r}")

    def _fields(self, st: _State, table: str, keys: list[str]) -> list[str]:
        pct = st.percent or st.mlt
        fields = []
        for key in keys:
            if table == "curva_carga":
                fields.append("val_cargaenergiahomwmed")
            elif table == "balanco_subsistema":
                fields.append("generation" if key == "generation" else BALANCO_FIELD.get(key, ""))
            elif table == "cmo_semihorario":
                fields.append("val_cmo")
            elif table == WEEKLY_CMO:
                fields.append(st.patamar[0] if st.patamar else "val_cmomediasemanal")
            elif table == DAILY_LOAD:
                fields.append("val_cargaenergiamwmed")
            elif table == "ear_diario":
                if key == "ear_max":
                    fields.append("ear_max_subsistema")
                elif st.mwmes:
                    fields.append("ear_verif_subsistema_mwmes")
                    if st.percent:  # "em MWmês e em % da capacidade": both units, both fields
                        fields.append("ear_verif_subsistema_percentual")
                else:
                    fields.append("ear_verif_subsistema_percentual")
            elif table == "ena_diario":
                prefix = "ena_armazenavel_regiao" if key == "ena_storable" else "ena_bruta_regiao"
                if pct and st.unit_mean:  # "MWmed and %MLT": each unit names its field
                    fields.append(f"{prefix}_mwmed")
                fields.append(f"{prefix}_percentualmlt" if pct else f"{prefix}_mwmed")
            elif table == "intercambio":
                fields.append("val_intercambioprogmwmed")
        return list(dict.fromkeys(fields))

    def _selections(
        self, st: _State, table: str, fields: list[str], agg: Aggregation
    ) -> list[Selection] | None:
        total = _total_generation(agg)
        if st.by_source and table == "balanco_subsistema":
            fields = [BALANCO_FIELD[s] for s in SOURCES]
        if st.ratio:
            if len(fields) != 2:
                st.unmapped.append(
                    Unmapped(
                        "combination", "ratio", "a ratio needs exactly two measures of one dataset"
                    )
                )
                return None
            a, b = (total if f == "generation" else Agg(agg, f) for f in fields)
            return [Selection(BinOp("/", a, b), f"ratio_{fields[0]}_{fields[1]}")]
        if st.stock_change and table == "ear_diario":
            if st.window or st.grain_adj or st.time_rank:
                raise ModelError(
                    "the change of a daily stock is given over the whole period (its last day "
                    "minus its first): for each day or week, ask for its daily values"
                )
            return [
                Selection(
                    BinOp("-", Agg(Aggregation.LAST, f), Agg(Aggregation.FIRST, f)), f"change_{f}"
                )
                for f in fields
            ]
        if st.sources_added and agg not in (Aggregation.SUM, Aggregation.MEAN):
            st.unmapped.append(
                Unmapped(
                    "combination",
                    "+",
                    "sources are added for totals and averages; the peak of their sum needs their "
                    "hourly sum: ask for each source's maximum",
                )
            )
        if st.subtracted and len(fields) > 1:
            if agg not in (Aggregation.SUM, Aggregation.MEAN):
                raise ModelError(
                    "one measure less another is given for totals and averages; its extremes need "
                    "the difference at each step: ask for each measure's values"
                )
            terms = [total if f == "generation" else Agg(agg, f) for f in fields]
            less: Expr = terms[0]
            for term in terms[1:]:
                less = BinOp("-", less, term)
            st.assumptions.append(" − ".join(fields))
            return [Selection(less, f"{agg}_" + "_minus_".join(fields))]
        if st.sources_added and len(fields) > 1 and agg in (Aggregation.SUM, Aggregation.MEAN):
            added: Expr = Agg(agg, fields[0])
            for f in fields[1:]:
                added = BinOp("+", added, Agg(agg, f))
            st.assumptions.append("the sources added together")
            return [Selection(added, f"{agg}_" + "_plus_".join(fields))]
        selections = []
        for f in fields:
            expr: Expr = total if f == "generation" else Agg(agg, f)
            alias = f"{agg}_total_generation" if f == "generation" else f"{agg}_{f}"
            selections.append(Selection(expr, alias))
        return selections

    def _share_model(self, st: _State, keys: list[str], codes: list[str]) -> QueryModel | None:
        """A source's share of a named denominator (the load, or total generation by default),
        as a ratio of sums over each window (the whole period without one)."""
        sources = [k for k in keys if k in SOURCES]
        if st.by_source and not sources:
            sources = list(SOURCES)
        if not sources:
            st.unmapped.append(
                Unmapped(
                    "combination",
                    "share",
                    "a share needs a generation source (hidráulica, térmica, eólica, solar)",
                    ("participação da eólica na carga", "share of hydro in total generation"),
                )
            )
            return None
        aggs = {a for _, a, _ in st.aggregations}
        # "a participação da hidráulica agora": the share at the latest hour of data
        func = Aggregation.LAST if aggs == {Aggregation.LAST} else Aggregation.SUM
        if aggs - {Aggregation.MEAN, Aggregation.SUM, Aggregation.LAST} or (
            Aggregation.LAST in aggs and len(aggs) > 1
        ):
            st.unmapped.append(
                Unmapped(
                    "combination",
                    ", ".join(t for _, _, t in st.aggregations),
                    "a share is a ratio of sums over the period (or per hour/day: 'por dia')",
                )
            )
        if "load" in keys:
            denominator: Expr = Agg(func, "val_carga")
            name = "load"
        else:
            denominator = _total_generation(func)
            name = "generation"
            if "generation" not in keys:
                st.assumptions.append("share of what not given: of total generation")
        parts: list[tuple[Expr, str]] = [
            (Agg(func, BALANCO_FIELD[s]), BALANCO_FIELD[s]) for s in sources
        ]
        if st.sources_added and len(parts) > 1:  # "wind + solar": the share of their sum
            added = parts[0][0]
            for expr, _ in parts[1:]:
                added = BinOp("+", added, expr)
            parts = [(added, "_plus_".join(field for _, field in parts))]
            st.assumptions.append("the sources added together")
        selections = [
            Selection(
                BinOp("*", BinOp("/", numerator, denominator), Const(100)),
                f"share_{field}_of_{name}",
            )
            for numerator, field in parts
        ]
        filters = []
        if not codes and "id_subsistema" in st.group_tags:  # "por subsistema": each of the four
            codes = ["SE", "S", "NE", "N"]
        codes = [c for c in codes] or ["SIN"]
        whole = _SHARE_OF_SOURCE.search(st.text.norm)
        if ("SIN" in codes and len(codes) > 1) or whole:
            # "what percent of Brazil's solar came from the NE", "NE wind was what percent of
            # the SIN total": one place's part of another's (or of a source's) total
            raise ModelError(
                "the share of one place in another's or in a source's total is not computed: "
                "ask for each place's value"
            )
        if not [c for _, c, _ in st.subsystems]:
            st.assumptions.append("no subsystem given: the SIN total")
        filters.append(TagFilter("id_subsistema", FilterOp.EQ, tuple(codes)))
        group = ["id_subsistema"] if len(codes) > 1 else []
        window = st.window or (None if st.grain_adj == "1h" else st.grain_adj)
        window = self._covering(st, window)
        return self._finish(st, "balanco_subsistema", selections, filters, group, window)

    def _time_range(self, st: _State, table: str) -> tuple[TimeRange, list[Period]]:
        spans = st.reading.spans
        if not spans:
            spans = [self._default_span(st, table)]
        hours = st.reading.hours
        if hours is not None and len(spans) > 1:
            narrowed = []
            for span in spans:
                blocks = P.clock_blocks(span, hours, st.reading.days)
                if not blocks:
                    raise ModelError(f"that time of day is not within {P.label(span)}")
                if len(blocks) > 1:
                    raise ModelError("comparing a time of day over several days: compare days")
                narrowed.append(blocks[0])
            spans = narrowed
        elif hours is not None:
            blocks = P.clock_blocks(spans[0], hours, st.reading.days)
            if not blocks:
                raise ModelError(f"that time of day is not within {P.label(spans[0])}")
            if len(blocks) == 1:
                return TimeRange(to_ns(blocks[0].start), to_ns(blocks[0].end)), []
            span = spans[0]
            return TimeRange(to_ns(span.start), to_ns(span.end)), [
                Period(to_ns(b.start), to_ns(b.end), P.label(b)) for b in blocks
            ]
        if len(spans) == 1:
            span = spans[0]
            rng = TimeRange(to_ns(span.start), to_ns(span.end))
            if st.reading.days:
                blocks = P.day_blocks(span, st.reading.days)
                if not blocks:
                    raise ModelError(f"none of those days of the week in {P.label(span)}")
                return rng, [Period(to_ns(b.start), to_ns(b.end), P.label(b)) for b in blocks]
            return rng, []
        if st.reading.days:
            raise ModelError("comparing periods restricted to some days of the week: ask once each")
        start = min(s.start for s in spans)
        end = max(s.end for s in spans)
        return TimeRange(to_ns(start), to_ns(end)), [
            Period(to_ns(s.start), to_ns(s.end), P.label(s)) for s in spans
        ]

    def _default_span(self, st: _State, table: str) -> P.Span:
        """No period given: the latest week of data (the clock when the latest is unknown); for
        months or years, or windows ranked, all the data (from its earliest point)."""
        days = self.default_period.days or 7
        latest = self.latest(table) if self.latest is not None else None
        grain = st.time_rank[2] if st.time_rank else st.window
        if st.time_rank or grain in ("1mo", "1y"):
            earliest = self.earliest(table) if self.earliest is not None else None
            if earliest is not None:
                start = P.midnight(earliest.astimezone(self.zone))
                end = P.add_days(P.midnight(latest.astimezone(self.zone)), 1) if latest else st.now
                st.assumptions.append(f"no period given: all the data (from {start:%Y-%m-%d})")
                return P.Span(start, max(end, P.add_days(start, 1)))
            if st.time_rank:  # the days, months or years of a week ranked: not what was asked
                raise ModelError(
                    "ranking without a period needs the data's first day, not known here: "
                    "give the period (e.g. 'de 2018 a 2023')"
                )
        if latest is not None:
            end = P.add_days(P.midnight(latest.astimezone(self.zone)), 1)
            start = P.add_days(end, -days)
            last_day = P.add_days(end, -1)
            st.assumptions.append(
                f"no period given: the latest {days} days of data "
                f"({start:%Y-%m-%d} to {last_day:%Y-%m-%d})"
            )
            return P.Span(start, end)
        end = st.now
        st.assumptions.append(
            f"no period given: the last {days} days up to now (the latest data is not known)"
        )
        return P.Span(end - self.default_period, end)

    def _today_of_daily(
        self,
        st: _State,
        table: str,
        selections: list[Selection],
        group: list[str],
        window: str | None,
        top: TopN | None,
    ) -> tuple[list[Selection], TimeRange] | None:
        """ "EAR do SE hoje": a daily table's point of today may not be published yet; its
        latest value up to now answers (today's, else the day before's, its date shown)."""
        spans = st.reading.spans
        if (
            len(spans) != 1
            or spans[0].start != P.midnight(st.now)
            or schema.table(table).grain < timedelta(days=1)
            or window is not None
            or st.conditions
            or st.transform is not None
            or st.reading.days
            or "time" in group
        ):
            return None
        aggs = [s.expr for s in selections]
        if not all(
            isinstance(a, Agg) and a.func in (Aggregation.MEAN, Aggregation.LAST) for a in aggs
        ):
            return None
        stale = ("no aggregation", "ranked by the mean")
        st.assumptions[:] = [a for a in st.assumptions if not a.startswith(stale)]
        st.assumptions.append(
            "today's daily value, or, if not yet published, the latest before it (its date is "
            "in the answer)" + ("; ranked by it" if top is not None else "")
        )
        latest = [Selection(Agg(Aggregation.LAST, a.field), f"last_{a.field}") for a in aggs]  # type: ignore[union-attr]
        start = P.add_days(P.midnight(st.now), -7)
        return latest, TimeRange(to_ns(start), to_ns(st.now))

    def _finish(
        self,
        st: _State,
        table: str,
        selections: list[Selection],
        filters: list[TagFilter],
        group: list[str],
        window: str | None,
        top: TopN | None = None,
    ) -> QueryModel:
        for _, words in st.excluded if table != PLANT_TABLE else ():
            st.unmapped.append(
                Unmapped("combination", words, f"{table} does not hold that part apart")
            )
        if st.raw is not None and (
            st.aggregations or st.rank or top is not None or window != _grain(table)
        ):
            # "raw daily CMO": the stored points are half-hourly; raw and aggregated at once
            st.unmapped.append(
                Unmapped(
                    "combination",
                    st.raw,
                    f"raw values are the stored points, one per {_grain(table)}: ask for them "
                    "without an aggregate or another grain, or for the aggregate without 'raw'",
                )
            )
        if st.rank is not None and top is None:
            st.unmapped.append(
                Unmapped(
                    "combination",
                    "top",
                    "a ranking needs plants, states, sources or subsystems to rank",
                    ("top 5 usinas", "qual subsistema teve a maior carga"),
                )
            )
        order: tuple[OrderKey, ...] = ()
        limit = None
        if st.time_rank is not None:
            n, bottom, window = st.time_rank
            if group or len(selections) != 1 or top is not None:
                raise ModelError("ranking days, weeks or months: ask for one measure of one series")
            order, limit = (OrderKey(selections[0].alias, descending=not bottom),), n
            nominal = {"1d": 1, "1w": 7, "1mo": 31, "1y": 366}.get(window)
            spans = st.reading.spans
            if nominal and spans and all(s.end - s.start <= timedelta(days=nominal) for s in spans):
                # "em que ano … em fevereiro": the same month of each year, not ranked here
                raise ModelError(
                    "the period asked holds one such window: ask for each one (e.g. per year)"
                )
        last = any(
            isinstance(leaf, Agg) and leaf.func is Aggregation.LAST
            for s in selections
            for leaf in leaves(s.expr)
        )
        value_filters = self._value_filters(st, table, selections)
        window_filter = None
        if st.window_count is not None:
            selections, window_filter = self._windows_counted(st, selections)
            window = st.window_count
        if st.hours_of_steps and value_filters:
            selections = [Selection(BinOp("/", s.expr, Const(2)), "hours") for s in selections]
            st.assumptions.append("hours counted as the half-hours that meet it, halved")
        one_plant = any(f.tag == "nom_usina" and len(f.values) == 1 for f in filters)
        if last and table == "geracao_usina" and not group and top is None and not one_plant:
            if st.total_word or st.amount:
                raise ModelError(
                    "the total of the plants' latest values is not computed: ask for each plant's"
                )
            # the latest point of several plants is one plant's: each plant's latest instead
            group = ["nom_usina"]
            st.assumptions.append("the latest value of each plant")
        periods: list[Period] = []
        today = self._today_of_daily(st, table, selections, group, window, top)
        if today is not None:
            selections, time_range = today
        elif (last or st.all_time) and not st.reading.spans:
            time_range = TimeRange(None, to_ns(st.now))
            if st.all_time:
                st.assumptions.append("a record without a period: all the data")
        else:
            time_range, periods = self._time_range(st, table)
        profile = st.by_hour_of_day or st.by_day_of_week
        if profile:
            some_days = bool(periods) and len(st.reading.spans) <= 1  # "nos dias úteis de maio"
            if top is not None or (periods and not some_days) or window not in (None, "1h", "1d"):
                raise ModelError(
                    "a profile (by hour of the day or day of the week) is one value per hour or "
                    "weekday over one period: no ranking, other window, compared periods or days "
                    "of the week"
                )
            window = None
        if table == PLANT_TABLE and not one_plant and "nom_usina" not in group and top is None:
            together = self._plants_together(
                st, selections, group, window, time_range, bool(periods or profile or last)
            )
            if together is not None:
                selections, window, ranked = together
                if ranked:
                    order, limit = ranked, 1
        combine = bool(periods) and len(st.reading.spans) <= 1 and window is None
        if combine and top is not None:
            raise ModelError("a ranking over some days of the week is not supported: ask per day")
        if st.per_day and window is None:
            selections = self._per_day(st, table, selections, filters, group)
        if st.energy_unit and top is None:
            scale = _ENERGY_SCALE[st.energy_unit]
            selections = [
                Selection(BinOp("/", s.expr, Const(scale)), f"{s.alias}_{st.energy_unit}")
                for s in selections
            ]
        elif st.energy_unit:
            st.assumptions.append(f"a ranking is in MWh, not {st.energy_unit[:-2].upper()}Wh")
        if st.gigawatts:
            selections = self._in_gigawatts(st, table, selections, top)
        if order and order[0].column != selections[0].alias:  # ranked in the unit asked
            order = (replace(order[0], column=selections[0].alias),)
        if st.transform is not None:
            kind, n, _ = st.transform
            if kind is TransformKind.MOVING_AVERAGE and n is None:
                n = 7 if window == "1d" else 24 if window == "1h" else 3
                st.assumptions.append(f"moving average without a length: {n} windows")
            unit = Duration.parse(window) if kind is TransformKind.DERIVATIVE and window else None
            if unit is not None and unit.is_calendar:
                unit = Duration(30, "d") if unit.unit == "mo" else Duration(365, "d")
            selections = [
                Selection(
                    Transform(
                        kind, s.expr, n if kind is TransformKind.MOVING_AVERAGE else None, unit
                    ),
                    f"{kind}_{s.alias}",
                )
                for s in selections
            ]
        return QueryModel(
            table=table,
            selections=tuple(selections),
            time_range=time_range,
            tag_filters=tuple(filters),
            value_filters=value_filters,
            window=Duration.parse(window) if window else None,
            group_tags=tuple(group),
            top=top,
            periods=tuple(periods),
            combine_periods=combine,
            order_by=order,
            limit=limit,
            by_hour_of_day=st.by_hour_of_day,
            by_day_of_week=st.by_day_of_week,
            difference=st.group_difference
            if st.subsystem_difference is None
            else ("id_subsistema", *st.subsystem_difference),
            extreme_times=self._extreme_times(st, selections, window, top, periods, profile),
            timezone=self.timezone if window or profile else None,
            time_alias=_profile_column(st) if profile else "time",
            window_filter=window_filter,
        )

    def _plants_together(
        self,
        st: _State,
        selections: list[Selection],
        group: list[str],
        window: str | None,
        time_range: TimeRange,
        other_shape: bool,
    ) -> tuple[list[Selection], str | None, tuple[OrderKey, ...]] | None:
        """Several plants' generation is their total hour by hour (MWmed): its mean over a range
        is their energy ÷ the range's hours with data, its peak the hour of the largest total;
        each hour's value is the plants' sum. ``None``: the selections stand as they are."""
        if len(selections) != 1 or not isinstance(selections[0].expr, Agg):
            return None
        if _ONE_PLANT_AT_A_TIME.search(st.text.norm):  # "de uma usina", "a média das usinas"
            return None
        agg = selections[0].expr
        if agg.func not in (Aggregation.MEAN, Aggregation.MAX, Aggregation.MIN):
            return None
        if other_shape or st.transform is not None or st.window_count is not None:
            raise ModelError(
                "several plants' average or peak output together is computed over one period "
                "only: ask for their energy (MWh), or for each plant ('por usina')"
            )
        alias = selections[0].alias
        total = Agg(Aggregation.SUM, agg.field)
        if window == "1h":  # each hour's value: the plants' total (MWmed over the hour)
            st.assumptions.append("each hour: the plants' total (MWmed)")
            return [Selection(total, alias)], window, ()
        if window is not None:
            raise ModelError(
                "several plants' average or peak output per day or month is not computed: ask "
                "for their energy (MWh) per day or month, or for each plant ('por usina')"
            )
        if agg.func is Aggregation.MEAN:
            start, end = time_range.start, time_range.end
            latest = self.latest(PLANT_TABLE) if self.latest is not None else None
            first = self.earliest(PLANT_TABLE) if self.earliest is not None else None
            if latest is not None:
                end = min(end or to_ns(st.now), to_ns(latest) + 3_600 * 10**9)
            if first is not None and start is not None:
                start = max(start, to_ns(first))
            if start is None or end is None or end <= start:
                return None
            hours = -(-(end - start) // (3_600 * 10**9))  # a part hour counts as an hour
            if hours in (1000, 1_000_000):  # ÷ 1000 reads as MWh → GWh: not a mean power
                raise ModelError(
                    "several plants' average output over exactly 1000 hours: ask for their "
                    "energy (MWh)"
                )
            st.assumptions.append(
                f"the plants' average output together: their energy (MWh) ÷ {hours} hours of "
                "the period with data"
            )
            return [Selection(BinOp("/", total, Const(hours)), alias)], None, ()
        if group:
            raise ModelError(
                "the peak of several plants' total per state, source or subsystem is not "
                "computed: ask for one of them, or for each plant ('por usina')"
            )
        highest = agg.func is Aggregation.MAX
        st.assumptions.append(
            f"the plants' {'peak' if highest else 'lowest'} output together: the hour of their "
            f"{'largest' if highest else 'smallest'} total"
        )
        return [Selection(total, alias)], "1h", (OrderKey(alias, descending=highest),)

    def _in_gigawatts(
        self, st: _State, table: str, selections: list[Selection], top: TopN | None
    ) -> list[Selection]:
        """ "Em GW", "how many GW": a power (MW, MWmed) in thousands of MW; a measure of another
        unit (a price, a percentage, stored energy) has no GW: refused, not divided."""
        spec = schema.table(table)
        units = {expr_unit(spec, s.expr) for s in selections}
        if top is not None:
            st.assumptions.append("a ranking is in its own unit, not GW")
            return selections
        if units == {"MWh"} and not st.energy_unit:  # "total wind generation in GW": GWh
            st.assumptions.append("GW read as GWh: a total of generation is energy")
            return [
                Selection(BinOp("/", s.expr, Const(1000)), f"{s.alias}_gwh") for s in selections
            ]
        if not units <= {"MW", "MWmed"}:
            shown = ", ".join(sorted(u or "no unit" for u in units))
            st.unmapped.append(
                Unmapped("combination", "GW", f"GW is a unit of power; this is in {shown}")
            )
            return selections
        if st.energy_unit or top is not None:
            st.assumptions.append("a ranking is in MW, not GW")
            return selections
        return [Selection(BinOp("/", s.expr, Const(1000)), f"{s.alias}_gw") for s in selections]

    def _windows_counted(
        self, st: _State, selections: list[Selection]
    ) -> tuple[list[Selection], WindowFilter]:
        """ "Quantos dias de 2024 a carga passou de 80 GW?": each day's value compared, the days
        that passed counted. A day's value is the aggregate asked ("média diária"), else its
        extreme on the side of the condition: a day passed 80 GW if it did at some hour."""
        op, value, shown = st.conditions[0]
        field = next(leaf.field for leaf in leaves(selections[0].expr) if isinstance(leaf, Agg))
        if st.subsystem_difference is not None:
            a, b = st.subsystem_difference
            step = {"30m": "half-hour", "1h": "hour", "1d": "day"}.get(st.window_count or "")
            article = "an" if step == "hour" else "a"
            st.assumptions.append(f"{article} {step or 'window'} counts when {a}'s mean {op} {b}'s")
            mean = Selection(Agg(Aggregation.MEAN, field), f"mean_{field}")
            return [mean], WindowFilter(op, value, count=True)
        # at some point in the day (the extreme on the condition's side), or all through it ("o
        # dia inteiro", "in every hour", a plant stopped): the other extreme
        whole = st.whole_window or bool(
            op == "<=" and value == 0 and _STATE_ZERO.search(fold(shown))
        )
        if op in (">", ">="):
            agg = Aggregation.MIN if whole else Aggregation.MAX
        elif op in ("<", "<="):
            agg = Aggregation.MAX if whole else Aggregation.MIN
        else:
            agg = Aggregation.MEAN
        agg = st.window_agg or agg
        unit = {"1d": "day", "1w": "week", "1mo": "month"}.get(st.window_count or "", "window")
        if st.window_agg is None:
            extreme = "maximum" if agg is Aggregation.MAX else "minimum"
            when = "all through it" if whole else "at some point in it"
            st.assumptions.append(
                f"a {unit} counts when the value was {op} {value:g} {when} (its {extreme}); "
                "ask for the daily mean to compare that"
            )
        else:
            st.assumptions.append(f"a {unit} counts when its {agg} is {op} {value:g}")
        return [Selection(Agg(agg, field), f"{agg}_{field}")], WindowFilter(op, value, count=True)

    def _extreme_times(
        self,
        st: _State,
        selections: list[Selection],
        window: str | None,
        top: TopN | None,
        periods: list[Period],
        profile: bool,
    ) -> bool:
        """Several aggregates asked with their times: each maximum or minimum apart, at its
        own time (said); where that cannot be (a window, periods, a ranking), refused."""
        if not (st.extreme_times or st.extremes_alone):
            return False
        if window or top is not None or periods or profile or st.subsystem_difference:
            if not st.extreme_times:  # "max e min por dia": the values, as InfluxQL gives them
                st.assumptions.append("several aggregates together: values without their times")
                return False
            raise ModelError(
                "the times of several extremes are given over one period, without windows, "
                "rankings or compared periods: ask once per aggregate"
            )
        if not any(is_selector(s.expr) for s in selections) or len(selections) < 2:
            return False
        others = not all(is_selector(s.expr) for s in selections)
        st.assumptions.append(
            "each maximum or minimum in a row of its own, at its time"
            + ("; the other aggregates in a row at the start of the period" if others else "")
        )
        return True

    def _condition_refused(self, st: _State, table: str, selections: list[Selection]) -> str | None:
        """Why a condition on values cannot be applied as InfluxDB would (``None`` if it can)."""
        funcs = {s.expr.func for s in selections if isinstance(s.expr, Agg)}
        if st.last_time:
            return None if funcs <= {Aggregation.LAST, Aggregation.FIRST} else "one value at a time"
        if funcs & {Aggregation.LAST, Aggregation.FIRST}:
            return "is the latest value above or below? A yes or no: ask for the latest value"
        asked_when = re.match(
            r"\W*(?:(?:e|and)\s+)?(?:quando|when|em\s+que|at\s+what|a\s+que)\b", st.text.norm
        )
        if st.asks_when and asked_when and Aggregation.COUNT not in funcs:
            return "the times a condition held are not listed: ask how many hours it held"
        each_plant = len(st.plant_names) > 1 and not _COMBINED.search(st.text.orig)
        if (
            table == "geracao_usina"
            and len(st.plant_names) != 1
            and not each_plant  # plants named one by one: each one's own values
            and "nom_usina" not in st.group_tags
        ):
            return (
                "a condition on several plants applies to each plant's values, not to their "
                "total: ask for one plant"
            )
        if len(st.conditions) > 1 and len({c for _, c, _ in st.subsystems}) > 1:
            return "one condition per subsystem is not supported: ask once per subsystem"
        return None

    def _value_filters(
        self, st: _State, table: str, selections: list[Selection]
    ) -> tuple[ValueFilter, ...]:
        """The conditions on the selected field's values; a count of time steps needs one, at
        the data's own step (counting hours of half-hourly data would count half-hours)."""
        fields = {s.expr.field for s in selections if isinstance(s.expr, Agg)}
        if st.conditions:
            reason = self._condition_refused(st, table, selections)
            if reason:
                st.unmapped.append(Unmapped("combination", st.conditions[0][2], reason))
                return ()
        if st.conditions and _WHICH_ENTITIES.search(st.text.norm):
            st.unmapped.append(
                Unmapped(
                    "combination",
                    st.conditions[0][2],
                    "the list of plants, subsystems or states that meet a condition is not "
                    "supported: ask for the top N, or for each one's values",
                )
            )
            return ()
        if st.counted is not None:
            grain, shown = st.counted
            step = schema.table(table).grain
            finer = Duration.parse(grain).ns < int(step.total_seconds()) * 1_000_000_000
            other_window = (st.window or st.grain_adj or grain) != grain
            if st.subsystem_difference is not None and st.conditions:
                if finer or other_window or st.whole_window:
                    st.subsystem_difference = None
                    st.unmapped.append(
                        Unmapped(
                            "combination",
                            shown,
                            f"one subsystem above the other is counted in steps of the data "
                            f"({int(step.total_seconds()) // 60} min) or days, over the whole "
                            "period: ask so",
                        )
                    )
                    return ()
                st.window_count = grain  # each step's difference compared, the steps counted
                return ()
            if not st.conditions:
                st.unmapped.append(
                    Unmapped(
                        "combination",
                        shown,
                        "a count of hours or days counts those that meet a condition on the "
                        "values: write it as a number ('acima de 200', 'below 30%')",
                        ("quantas horas o CMO do Sul ficou acima de 200 em fevereiro",),
                    )
                )
            elif grain == "1h" and step == timedelta(minutes=30):
                st.hours_of_steps = True  # "quantas horas … ficou zerado": half-hours / 2
            elif (
                Duration.parse(grain).ns > int(step.total_seconds()) * 1_000_000_000
                and len(st.conditions) == 1
                and len(selections) == 1
            ):
                if (st.window or st.grain_adj or grain) != grain:
                    # "quantos dias por mês …": a count per month of days is not computed
                    st.unmapped.append(
                        Unmapped(
                            "combination",
                            shown,
                            "the days that passed are counted over the whole period, not per "
                            "month or week: ask for one month at a time",
                        )
                    )
                    return ()
                st.window_count = grain  # "quantos dias … passou de": each day's value, compared
                return ()
            elif Duration.parse(grain).ns != int(step.total_seconds()) * 1_000_000_000:
                words = {1800: "quantas meias horas", 3600: "quantas horas", 86400: "quantos dias"}
                st.unmapped.append(
                    Unmapped(
                        "combination",
                        shown,
                        f"this data has one value every {int(step.total_seconds()) // 60} "
                        "minutes: count its own steps",
                        (words.get(int(step.total_seconds()), "quantos valores"),),
                    )
                )
        if not st.conditions:
            return ()
        if len(fields) != 1 or len(selections) != 1 or not isinstance(selections[0].expr, Agg):
            st.unmapped.append(
                Unmapped(
                    "combination",
                    st.conditions[0][2],
                    "a condition on values applies to one measure at a time",
                )
            )
            return ()
        (name,) = fields
        return tuple(ValueFilter(name, op, value) for op, value, _ in st.conditions)

    def _interchange_model(self, st: _State, keys: list[str], codes: list[str]) -> QueryModel:
        """Interchange between two subsystems named together: a direction when written "do X
        para Y", else both directions of the pair."""
        text = st.text.norm
        a_pos, _, a_text = st.subsystems[0]
        between = text[a_pos + len(a_text) : st.subsystems[1][0]]
        oriented = (
            _FROM_TO.search(text[:a_pos])
            or _ARROW.match(between)
            or _bare_to(text[:a_pos], between)
        )
        if oriented:
            return self._flow_model(st, keys, (codes[0], codes[1]))
        a, b = codes[0], codes[1]
        asked = {agg for _, agg, _ in st.aggregations}
        interconnected = (a, b) in INTERCONNECTIONS or (b, a) in INTERCONNECTIONS
        if asked & {Aggregation.MAX, Aggregation.MIN} and len(codes) == 2 and interconnected:
            # ONS stores a pair in one direction, signed: its maximum is the largest flow that
            # way only; without a direction, the largest flow is asked of each way
            return self._both_ways(st, keys, (a, b), Aggregation.MIN in asked)
        if oriented:
            filters = [
                TagFilter("id_subsistema_origem", FilterOp.EQ, (a,)),
                TagFilter("id_subsistema_destino", FilterOp.EQ, (b,)),
            ]
            group: list[str] = []
        else:
            filters = [
                TagFilter("id_subsistema_origem", FilterOp.EQ, (a, b)),
                TagFilter("id_subsistema_destino", FilterOp.EQ, (a, b)),
            ]
            group = ["id_subsistema_origem", "id_subsistema_destino"]
        if len(codes) > 2:
            st.unmapped.append(
                Unmapped("subsystem", ", ".join(codes[2:]), "an interchange links two subsystems")
            )
        agg = self._agg(st, Aggregation.MEAN)
        window = self._window(st, "1h")
        selections = [Selection(Agg(agg, f), f"{agg}_{f}") for f in _interchange_fields(st, keys)]
        _with_difference(st, selections, agg)
        return self._finish(st, "intercambio", selections, filters, group, window)

    def _flow_model(self, st: _State, keys: list[str], flow: tuple[str, str]) -> QueryModel | None:
        """The flow from one subsystem to another: the pair's series as ONS orients it, its sign
        reversed when asked the other way (a maximum becomes the negated minimum)."""
        a, b = flow
        if (a, b) in INTERCONNECTIONS:
            origin, destination, sign = a, b, 1
        elif (b, a) in INTERCONNECTIONS:
            origin, destination, sign = b, a, -1
        else:
            st.unmapped.append(
                Unmapped(
                    "subsystem",
                    f"{a} → {b}",
                    "no direct interconnection between these subsystems in the data",
                    tuple(f"{x} ↔ {y}" for x, y in INTERCONNECTIONS),
                )
            )
            return None
        self._unused_subsystems(st, {a, b})
        # "intercâmbio médio e máx": several aggregates of the flow, as of any measure
        several = self._several(st)
        agg = several[0] if several else self._agg(st, Aggregation.MEAN)
        filters = [
            TagFilter("id_subsistema_origem", FilterOp.EQ, (origin,)),
            TagFilter("id_subsistema_destino", FilterOp.EQ, (destination,)),
        ]
        selections = []
        for one in several or [agg]:
            for field_name in _interchange_fields(st, keys):
                expr: Expr = Agg(one, field_name)
                if sign == -1:
                    swapped = {Aggregation.MAX: Aggregation.MIN, Aggregation.MIN: Aggregation.MAX}
                    expr = BinOp("*", Const(-1), Agg(swapped.get(one, one), field_name))
                kind = "scheduled_flow" if field_name == SCHEDULED_INTERCHANGE else "flow"
                selections.append(Selection(expr, f"{one}_{kind}_{a}_to_{b}"))
        if sign == -1:
            st.assumptions.append(
                f"the flow {a} → {b} is the {b} → {a} series of the data with its sign reversed"
            )
        _with_difference(st, selections, agg)
        window = self._window(st, "1h")
        self._two_to_compare(st, 1, len(selections))
        return self._finish(st, "intercambio", selections, filters, [], window)

    def _both_ways(
        self, st: _State, keys: list[str], pair: tuple[str, str], smallest: bool
    ) -> QueryModel:
        """The largest flow of an interconnection named without a direction, each way (the
        maximum of the stored series, and its negated minimum), each at its time."""
        a, b = pair
        origin, destination = (a, b) if (a, b) in INTERCONNECTIONS else (b, a)
        if smallest:
            st.unmapped.append(
                Unmapped(
                    "combination",
                    f"{a} ↔ {b}",
                    "the smallest interchange of a pair needs a direction (it changes sign): "
                    f"ask 'de {origin} para {destination}' or 'de {destination} para {origin}'",
                )
            )
        filters = [
            TagFilter("id_subsistema_origem", FilterOp.EQ, (origin,)),
            TagFilter("id_subsistema_destino", FilterOp.EQ, (destination,)),
        ]
        selections = []
        for field_name in _interchange_fields(st, keys):
            kind = "scheduled_flow" if field_name == SCHEDULED_INTERCHANGE else "flow"
            selections.append(
                Selection(Agg(Aggregation.MAX, field_name), f"max_{kind}_{origin}_to_{destination}")
            )
            reverse = BinOp("*", Const(-1), Agg(Aggregation.MIN, field_name))
            selections.append(Selection(reverse, f"max_{kind}_{destination}_to_{origin}"))
        st.extremes_alone = True
        st.assumptions.append(
            f"no direction given: the largest flow each way ({origin} → {destination} as ONS "
            f"stores it; {destination} → {origin} its minimum with the sign reversed)"
        )
        return self._finish(st, "intercambio", selections, filters, [], self._window(st, "1h"))

    def _unused_subsystems(self, st: _State, used: set[str]) -> None:
        """A subsystem named but not part of the flow asked about is not silently dropped."""
        others = [c for _, c, _ in st.subsystems if c not in used]
        if others:
            st.unmapped.append(
                Unmapped(
                    "subsystem",
                    ", ".join(dict.fromkeys(others)),
                    "an interchange is between two subsystems: ask once per pair",
                )
            )

    def _net_model(self, st: _State, net: tuple[str, str]) -> QueryModel:
        """A subsystem's net interchange (balanço: positive when it exports); imports are the
        same series with its sign reversed."""
        kind, code = net
        self._unused_subsystems(st, {code})
        several = self._several(st)  # "a média e o máximo do saldo exportado"
        selections = []
        for agg in several or [self._agg(st, Aggregation.MEAN)]:
            expr: Expr = Agg(agg, "val_intercambio")
            if kind == "import":
                swapped = {Aggregation.MAX: Aggregation.MIN, Aggregation.MIN: Aggregation.MAX}
                expr = BinOp("*", Const(-1), Agg(swapped.get(agg, agg), "val_intercambio"))
            name = "net_import" if kind == "import" else "net_interchange"
            selections.append(Selection(expr, f"{agg}_{name}"))
        filters = [TagFilter("id_subsistema", FilterOp.EQ, (code,))]
        window = self._window(st, "1h")
        return self._finish(st, "balanco_subsistema", selections, filters, [], window)

    def _known_plants(self) -> dict[str, str]:
        """The plant names of the data (none when not known), by :func:`_name_key`."""
        return {_name_key(n): n for n in (self.plants() or ())} if self.plants else {}

    def _known_or_refused(self, st: _State) -> None:
        """With the plant names of the data at hand, a name it does not hold is not understood
        (with the closest it holds), never an empty answer."""
        known = self._known_plants()
        if not known:
            return
        complex_word = re.search(r"\bcomplex[oa]?\b", st.text.norm)
        for name in list(st.plant_names):
            folded = _name_key(name)
            # "o complexo de Paulo Afonso": the plants of that name numbered (I, II, III, IV);
            # a word that only begins other names ("usina Salto") names none of them
            numbered = re.compile(re.escape(folded) + r" (?:[ivx]+|\d+)")
            family = sorted(known[k] for k in known if numbered.fullmatch(k))
            if folded in known:
                if complex_word and family:  # "complexo de Jacuí": Jacuí and Jacuí II …
                    at = st.plant_names.index(name)
                    st.plant_names[at : at + 1] = [known[folded], *family]
                    st.assumptions.append(
                        f"the {name} complex: {', '.join([known[folded], *family])}"
                    )
                continue
            if family:
                at = st.plant_names.index(name)
                st.plant_names[at : at + 1] = family
                st.assumptions.append(f"{name!r}: the plants named so ({', '.join(family)})")
                continue
            close = difflib.get_close_matches(folded, list(known), n=3, cutoff=0.6)
            st.unmapped.append(
                Unmapped(
                    "filter",
                    name,
                    "no plant of that name in the data",
                    tuple(known[c] for c in close),
                )
            )

    def _plant_model(self, st: _State, keys: list[str], codes: list[str]) -> QueryModel:
        filters: list[TagFilter] = []
        types = [PLANT_TYPES[k] for k in keys if k in PLANT_TYPES]
        for kind, words in st.excluded:  # ONS classes each plant in one type: the others hold none
            if not types or PLANT_TYPES[kind] in types:
                raise ModelError(f"{words!r}: ask for the plant types to keep, by name")
            st.assumptions.append(f"{words!r}: {' and '.join(types)} plants include none")
        if st.fuels and types == [PLANT_TYPES["thermal"]]:
            types = []  # "térmicas a gás": the fuel says it
        others = [k for k in keys if k not in PLANT_TYPES and k != "generation"]
        for k in others:
            st.unmapped.append(
                Unmapped(
                    "combination",
                    k,
                    "plant generation (usinas) holds only "
                    "generation: ask for this measure separately",
                )
            )
        if st.plant_names:
            self._known_or_refused(st)
            filters.append(TagFilter(PLANT_TAG, FilterOp.IEQ, tuple(st.plant_names)))
        if types:
            filters.append(TagFilter("nom_tipousina", FilterOp.EQ, tuple(dict.fromkeys(types))))
        if st.fuels:
            filters.append(
                TagFilter("nom_tipocombustivel", FilterOp.EQ, tuple(dict.fromkeys(st.fuels)))
            )
        if st.states:
            filters.append(
                TagFilter("id_estado", FilterOp.EQ, tuple(dict.fromkeys(c for _, c in st.states)))
            )
        codes = [c for c in codes if c != "SIN"]
        if codes:
            filters.append(TagFilter("id_subsistema", FilterOp.EQ, tuple(codes)))
        states = set(c for _, c in st.states)
        if st.compare and states and codes:  # "NE vs RN": one would filter the other
            raise ModelError("comparing a subsystem with a state: ask for each")
        group = list(st.group_tags)
        if len(states) > 1 and "id_estado" not in group:
            group.append("id_estado")  # "RN vs CE", "do RN e do CE": each state, as subsystems
        if st.by_source and "nom_tipousina" not in group:
            group.append("nom_tipousina")
        if len(codes) > 1 and "id_subsistema" not in group:
            group.append("id_subsistema")
        separately = st.text.take(_SEPARATELY) if len(st.plant_names) > 1 else []
        combined = _COMBINED.search(st.text.orig)
        if separately and combined:
            raise ModelError("the plants added together or each one? Ask one of the two")
        if len(st.plant_names) > 1 and "nom_usina" not in group and not combined:
            group.append("nom_usina")  # each plant, unless added together ("Angra 1 + Angra 2")
        # plants added together without an aggregate ("Angra 1 e 2 somadas"): their energy
        added = bool(combined) and len(st.plant_names) > 1
        if added:
            st.text.take(_COMBINED_WORD)
        default = Aggregation.SUM if (st.rank or not st.plant_names or added) else Aggregation.MEAN
        agg = self._agg(st, default)
        if combined and len(st.plant_names) > 1:
            if agg is not Aggregation.SUM or st.compare:  # a mean of both is no sum of them
                raise ModelError("plants added together: ask for their total energy (MWh)")
            st.plus_read = True
        top = None
        if st.rank is not None:
            tag = {
                "state": "id_estado",
                "source": "nom_tipousina",
                "fuel": "nom_tipocombustivel",
                "subsystem": "id_subsistema",
            }.get(st.rank.entity or "", "nom_usina")
            if re.search(r"\b(?:estados|states)\b", st.text.norm) and st.rank.entity is None:
                tag = "id_estado"
            top = TopN(st.rank.n, tag, st.rank.bottom)
            group = [t for t in group if t != tag]
            if not st.aggregations:
                st.assumptions.append(f"ranked by total generation ({agg}) over the period")
        window = st.window
        if window is None and st.transform is None:
            if st.grain_adj is not None:
                single = st.aggregations or st.amount or st.unit_sum
                window = None if (st.grain_adj == "1h" and single) else st.grain_adj
            elif not self._single(st) and not st.total_word and not self._compared_whole(st):
                window = "1h"
                st.assumptions.append(
                    "no aggregation given: hourly values"
                    + (" summed over the selected plants" if agg is Aggregation.SUM else "")
                )
        elif st.transform is not None:
            window = self._window(st, "1h")
        window = self._covering(st, window)
        one_plant = len(st.plant_names) == 1 or any(
            f.tag == "nom_usina" and len(f.values) == 1 for f in filters
        )
        if (st.by_hour_of_day or st.by_day_of_week) and agg is Aggregation.SUM and not one_plant:
            # a profile adds each hour's partials over the days: the plants' total per hour
            # summed over the month, not the typical day asked (a mean of those totals)
            raise ModelError(
                "the profile of several plants' total is not computed: ask it per plant, or "
                "for a subsystem's generation by source"
            )
        selections = [Selection(Agg(agg, "val_geracao"), f"{agg}_val_geracao")]
        two = len(st.plant_names) == 2 and "nom_usina" in group and top is None
        percent = re.search(r"%|\bpercent|\bpercentu?al|\bpor\s+cento", st.text.norm)
        if (
            two
            and agg in (Aggregation.MEAN, Aggregation.SUM)
            and not percent
            and st.text.take(_HOW_MUCH_APART)
        ):
            # "Jirau ou Santo Antônio? E qual foi a diferença?": each one and the difference
            known = self._known_plants()
            a, b = (known.get(_name_key(n), n) for n in st.plant_names)
            st.group_difference = ("nom_usina", a, b)
            st.assumptions.append(f"the difference is {a} − {b}")
        # "e Belo Monte? qual das duas gerou mais?" after one plant: one named, two compared
        named = max([len(st.plant_names), *(len(f.values) for f in filters), 1])
        self._two_to_compare(st, 2 if group or top is not None else named, len(selections))
        return self._finish(st, PLANT_TABLE, selections, filters, group, window, top)

    def _legacy_model(self, st: _State, keys: list[str], codes: list[str]) -> QueryModel | None:
        """The replaced platform's tables: generation by energy source, consumption by consumer
        type, transmission by line; regions by their English names; the verified series unless
        scheduled values are asked for."""
        kind = st.legacy or "generation"
        table = {
            "generation": "generation_data",
            "consumption": "consumption_data",
            "transmission": "transmission_data",
        }[kind]
        filters: list[TagFilter] = []
        group = [t for t in st.group_tags if t == "consumer_type"]
        codes = [c for c in codes if c != "SIN"]
        if kind == "transmission":
            if len(codes) == 2:
                a, b = codes
                pair = (a, b) if (a, b) in INTERCONNECTIONS else (b, a)
                if pair not in INTERCONNECTIONS:
                    st.unmapped.append(
                        Unmapped("subsystem", f"{a}-{b}", "no transmission line between these")
                    )
                    return None
                filters.append(TagFilter("line_id", FilterOp.EQ, (f"{pair[0]}-{pair[1]}",)))
            elif codes:
                filters.append(
                    TagFilter("region", FilterOp.EQ, tuple(LEGACY_REGIONS[c] for c in codes))
                )
                group.append("line_id")
            else:
                group.append("line_id")
        else:
            if codes:
                filters.append(
                    TagFilter("region", FilterOp.EQ, tuple(LEGACY_REGIONS[c] for c in codes))
                )
                if len(codes) > 1:
                    group.append("region")
            if kind == "generation":
                sources = [k for k in keys if k in (*SOURCES, "nuclear")]
                if sources:
                    filters.append(TagFilter("energy_source", FilterOp.EQ, tuple(sources)))
                if st.by_source:
                    group.append("energy_source")
            if kind == "consumption" and st.consumers:
                filters.append(
                    TagFilter("consumer_type", FilterOp.EQ, tuple(dict.fromkeys(st.consumers)))
                )
        mtype = "verified"
        for match in st.text.take(_LEGACY_MTYPE):
            mtype = "scheduled" if match.group("s") else "verified"
        filters.append(TagFilter("measurement_type", FilterOp.EQ, (mtype,)))
        if mtype == "verified":
            st.assumptions.append("legacy platform data: the verified values")
        agg = self._agg(st, Aggregation.MEAN)
        window = self._window(st, "1h")
        selections = [Selection(Agg(agg, "value"), f"{agg}_value")]
        return self._finish(st, table, selections, filters, group, window)


def _grain(table: str) -> str:
    seconds = int(schema.table(table).grain.total_seconds())
    if seconds % 604800 == 0:
        return f"{seconds // 604800}w"
    if seconds % 86400 == 0:
        return f"{seconds // 86400}d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m"


def _total_generation(agg: Aggregation) -> Expr:
    parts = [Agg(agg, BALANCO_FIELD[s]) for s in SOURCES]
    expr: Expr = parts[0]
    for part in parts[1:]:
        expr = BinOp("+", expr, part)
    return expr


def _capitalised_run(text: str, start: int) -> int:
    """End of the run of capitalised words (names) starting at ``start``."""
    pos, end = start, start
    for match in re.finditer(r"\S+", text[start:]):
        word = match.group(0).strip(",.;:?!")
        if word.endswith("'s"):
            end = start + match.start() + len(word) - 2
            return end
        if not word:
            break
        if word[0].isupper() or word[0].isdigit() or re.fullmatch(r"[IVX]+", word):
            end = start + match.start() + len(word)
            pos = end
            if match.group(0).rstrip("?!.").endswith((",", ";")):
                break  # a list of names goes on after the comma
            continue
        if word.lower() in _CONNECTORS:
            rest = text[start + match.end() :].lstrip()
            if rest[:1].isupper():
                continue
        break
    return pos if pos > start else end


def _name_runs(text: str, start: int) -> list[tuple[int, int]]:
    """The spans of the names listed from ``start`` ("Jirau, Santo Antônio e Belo Monte")."""
    spans: list[tuple[int, int]] = []
    pos = start
    while (end := _capitalised_run(text, pos)) > pos:
        spans.append((pos, end))
        joint = _NAME_LIST.match(text, end)
        if joint is None or not text[joint.end() : joint.end() + 1].isupper():
            break
        pos = joint.end()
    return spans


def _capitalised_run_backwards(text: str, end: int) -> int:
    words = list(re.finditer(r"\S+", text[:end]))
    run = []
    for match in reversed(words):
        word = match.group(0)
        if run and word.endswith((",", ";")):
            break  # the end of an earlier name of a list
        if word[0].isupper() or word[0].isdigit():
            run.insert(0, match)
            continue
        break
    while run and fold(run[0].group(0).strip(",.;:?!")) in _NOT_NAMES:
        run.pop(0)
    return run[0].start() if run else end


# -- column names typed as words ------------------------------------------------------------------

# the schema's own names, as people used to the tables type them ("avg of val_cmo from
# cmo_semihorario", "max(val_geracao) per nom_usina"): read as the words for what they hold
_SCHEMA_WORDS = {
    "val_cargaenergiahomwmed": "carga", "curva_carga": "carga", "val_carga": "carga",
    "val_gerhidraulica": "geração hidráulica", "val_gertermica": "geração térmica",
    "val_gereolica": "geração eólica", "val_gersolar": "geração solar",
    "val_intercambio": "intercâmbio líquido", "val_intercambiomwmed": "intercâmbio",
    "val_intercambioprogmwmed": "intercâmbio programado", "val_cmo": "CMO",
    "cmo_semihorario": "CMO", "ear_verif_subsistema_percentual": "EAR em %",
    "ear_verif_subsistema_mwmes": "EAR em MWmês", "ear_max_subsistema": "EAR máxima",
    "ear_diario": "EAR", "ena_bruta_regiao_mwmed": "ENA bruta",
    "ena_bruta_regiao_percentualmlt": "ENA bruta em % da MLT",
    "ena_armazenavel_regiao_mwmed": "ENA armazenável",
    "ena_armazenavel_regiao_percentualmlt": "ENA armazenável em % da MLT", "ena_diario": "ENA",
    "val_geracao": "geração", "geracao_usina": "geração das usinas", "nom_usina": "usina",
    "id_subsistema": "subsistema", "nom_subsistema": "subsistema", "id_estado": "estado",
    "nom_estado": "estado", "nom_tipousina": "tipo", "nom_tipocombustivel": "combustível",
}  # fmt: skip
_SCHEMA_WORD = re.compile(
    r"(?<![\w])(" + "|".join(sorted(_SCHEMA_WORDS, key=len, reverse=True)) + r")(?![\w])",
    re.IGNORECASE,
)
# time buckets written as code: "bin(time, 1h)", "1 day bins", "date_trunc('day', time)"
_BINS = re.compile(
    r"\bbin\s*\(\s*time\s*,\s*(?P<n1>\d+)\s*(?P<u1>[mhd])\s*\)"
    r"|\b(?P<n2>\d+)[\s-]*(?P<u2>minute|hour|day|week|month)s?[\s-]+bins?\b"
    r"|\bdate_trunc\s*\(\s*'(?P<u3>hour|day|week|month)'\s*,\s*time\s*\)",
    re.IGNORECASE,
)
_BIN_WORDS = {"m": "minute", "h": "hour", "d": "day"}


def _schema_words(question: str) -> tuple[str, list[tuple[str, str]]]:
    """``question`` with the schema's column names and time buckets written as words."""
    used: list[tuple[str, str]] = []

    def name(match: re.Match[str]) -> str:
        words = _SCHEMA_WORDS[match.group(1).lower()]
        used.append((match.group(0), words))
        return words

    def bucket(match: re.Match[str]) -> str:
        n = match.group("n1") or match.group("n2") or "1"
        unit = _BIN_WORDS.get(match.group("u1") or "", match.group("u2") or match.group("u3"))
        words = f"per {unit.lower()}" if n == "1" else f"every {n} {unit.lower()}s"
        used.append((match.group(0), words))
        return words

    return _BINS.sub(bucket, _SCHEMA_WORD.sub(name, question)), used


# -- what was not understood --------------------------------------------------------------------

_VOCABULARY = sorted(
    {
        *(n.split("/")[0].lower() for n in SUBSYSTEM_NAMES.values()),
        "sudeste", "nordeste", "norte", "sul", "southeast", "northeast", "north", "south",
        *MONTHS, *_STATES, "carga", "geracao", "eolica", "solar", "hidraulica", "termica",
        "nuclear", "intercambio", "cmo", "ear", "ena", "load", "generation", "wind", "hydro",
        "thermal", "interchange", "reservatorios", "semana", "quinzena", "trimestre", "semestre",
        "verao", "inverno", "outono", "primavera", "fins de semana", "dias uteis", "weekends",
        "weekdays", "usinas", "plants", "estados", "states", "media", "maxima", "minima",
        "average", "maximum", "minimum", "total", "soma", "participacao", "share",
        "ultimo", "ultima", "ultimos", "ultimas", "reservatorio", "reservoirs",
        "reservoir", "ontem", "hoje", "yesterday", "today", "energia", "energy", "armazenada",
        "afluente", "natural", "programado", "verificado", "horaria", "diaria", "mensal",
        "semanal", "hidreletrica", "hidreletricas", "termicas", "eolicas", "usina", "geradas",
        "gerada", "gerou", "marginal", "custo", "subsistema", "submercado", "consumo", "demanda",
        "storage", "inflow", "inflows", "stored", "cost", "peak", "pico", "recorde",
        "record", "plant", "hourly", "daily", "weekly", "monthly", "yearly", "anual",
        "happen", "happened", "occur", "occurred", "ocorreu", "aconteceu", "passada", "passado",
        "passadas", "passados", "anterior", "previous",
        # the periods' words: "ano pasado", "semana pasada", "carnavl" are slips of them too
        *_PERIOD_WORDS, "anteontem", "retrasado", "retrasada", "atras", "weekend", "fortnight",
        "quarter", "bimestre", "segunda", "terca", "quarta", "quinta", "sexta", "sabado",
        "domingo", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    }
)  # fmt: skip
_VOCABULARY_SET = frozenset(_VOCABULARY) | frozenset(_STOPWORDS)


def _period_hints(norm: str) -> tuple[str, ...]:
    if re.search(r"\b(?:the|what|which|how|in|of)\b", norm):
        return ("in March 2024", "from March 1 to 15, 2024", "on weekends in March 2024")
    return ("em março de 2024", "de 1 a 15 de março de 2024", "nos fins de semana de março")


def _not_understood(word: str, original: str, pos: int, text: Text) -> Unmapped:
    close = tuple(difflib.get_close_matches(word, _VOCABULARY, n=3, cutoff=0.75))
    if re.fullmatch(r"\d+(?:[.,]\d+)?", word) or numbers.parse(word) is not None:
        return Unmapped(
            "number", original, "a number that is not understood here", close or ("top 5",)
        )
    if word in _PERIOD_WORDS:
        return Unmapped("period", original, "not a period the translator can read", close)
    before = text.norm[:pos]
    after_preposition = re.search(r"\b(?:n[oa]s?|in|d[oa]s?|of)\s*$", before)
    if (original[:1].isupper() and pos > 0) or after_preposition:
        return Unmapped(
            "filter",
            original,
            "not a subsystem, state, plant or source the data knows",
            close or ("Sudeste", "Nordeste", "Bahia", '"Tucuruí"'),
        )
    return Unmapped("word", original, "not understood", close)


_PT_HINTS = re.compile(
    r"\b(?:qual|quais|de|do|da|no|na|em|por|ontem|hoje|geracao|carga|media|ultim[oa]s?|mes|semana"
    r"|usinas?|entre|compare|maxim[oa]|minim[oa])\b"
)
_EN_HINTS = re.compile(
    r"\b(?:what|which|the|of|in|by|per|yesterday|today|generation|load|average|last|past|month|week"
    r"|plants?|between|show|maximum|minimum|peak|on|to|from|and|for|how|was|did|is|output|flow"
    r"|interchange|hourly|daily)\b"
)


# "as 10 hidrelétricas", "quais eólicas": plants of that kind, as "as 10 usinas hidrelétricas"
_KIND_PLURAL = re.compile(
    r"\b(?P<lead>(?:\d{1,4}|quais|which|as\s+maiores|as\s+menores)\s+)"
    r"(?P<kind>hidrel[eé]tricas|hidroel[eé]tricas|termel[eé]tricas|termoel[eé]tricas|t[eé]rmicas"
    r"|e[oó]licas|nucleares|fotovoltaicas)\b",
    re.IGNORECASE,
)


def _plants_of_a_kind(written: str) -> tuple[str, list[tuple[str, str]]]:
    used = [
        (m.group(0), f"{m.group('lead')}usinas {m.group('kind')}")
        for m in _KIND_PLURAL.finditer(written)
    ]
    return _KIND_PLURAL.sub(r"\g<lead>usinas \g<kind>", written), used


# in a follow-up, words that point back to the period asked before: "do mês", "that day",
# "same two years", "no mesmo período" (not "the same period last year", a period of its own)
_BACK_REFERENCE = re.compile(
    r"(?:,\s*)?\b(?:(?:d[oa]|n[oa]|of\s+the|in\s+the|for\s+the|that|this)\s+(?P<unit>mes|mês|month"
    r"|dia|day|semana|week|ano|year|periodo|período|period)"
    r"(?!\s+(?:passad|anterior|last|previous|before|de\s|of\s|\d))"
    r"|(?:(?:the|in\s+the|for\s+the|over\s+the)\s+)?same\s+(?:(?:two|three|four|\d+)\s+)?"
    r"(?:years?|periods?|months?|days?|weeks?|dates?|time(?:\s+span)?)"
    r"(?!\s+(?:but\s+)?(?:last|previous|prior|a\s+year|in\s+\d|of\s+\d|the\s+year|ago))"
    r"|(?:n?o\s+)?mesmo\s+per[ií]odo(?!\s+(?:d[oe]|em|no)\b)"
    r"|(?:n?os\s+)?mesmos\s+(?:(?:dois|tr[eê]s|\d+)\s+)?(?:anos|meses|dias|per[ií]odos))\b",
    re.IGNORECASE,
)
_UNIT_OF = {
    "mes": "month", "month": "month", "dia": "day", "day": "day", "semana": "week",
    "week": "week", "ano": "year", "year": "year", "periodo": "any", "period": "any",
    "trimestre": "quarter", "quarter": "quarter", "semestre": "half", "semester": "half",
    "window": "any", "janela": "any", "intervalo": "any", "timeframe": "any",
}  # fmt: skip
# one plant at a time among several ("a maior geração de uma usina eólica", "any single plant",
# "a média das usinas", "the average plant"): each plant's values, not the plants' total
_ONE_PLANT_AT_A_TIME = rx(
    r"\b(?:de|by|from|for|of)\s+(?:uma|a|one|any|qualquer)\s+(?:(?:unica|so|single)\s+)?(?:usina"
    r"|plant|parque|farm)\b|\b(?:individual|single)\s+(?:usina|plant|farm)s?\b"
    r"|\businas?\s+individua(?:l|is)\b|(?<!geracao\s)(?<!producao\s)(?<!generation\s)"
    r"\bmedia\s+das\s+usinas\b|\b(?:average|typical)\s+plant\b|\busina\s+(?:media|tipica)\b"
)
# "top 5 por energia gerada", "ranked by output": the measure that ranks them
_RANKED_BY_MEASURE = rx(
    r"\b(?:por|by|pel[oa]|in\s+terms\s+of|em\s+termos\s+de)(?=\s+(?:(?:total\s+)?(?:energia"
    r"|energy|geracao|generation|output|producao|production)\b))"
)
# "do estado", "nesse subsistema", "in that state": the one place named before
_DEMONSTRATIVE_PLACE = re.compile(
    r"\b(?:(?P<prep>d[oa]|n[oa]|em|in|of|for|from)\s+(?:(?:ess|est|aquel)[ea]\s+|mesm[oa]\s+"
    r"|(?:that|this|the\s+same|the)\s+)?|(?P<contracted>[nd])(?:ess|est|aquel)[ea]\s+)"
    r"(?P<unit>estado|state|subsistema|submercado|subsystem"
    r"|submarket)\b(?!\s+(?:d[eoa]s?|of|com|with|que|that|which|where|onde|cuj[oa]|mais|most)\b)",
    re.IGNORECASE,
)
# "nesse trimestre", "naquele mês", "in that month", "no mesmo período": a period named before
# ("neste", "this" are the current one; "the same day in 2021" names its own)
_DEMONSTRATIVE_PERIOD = re.compile(
    r"(?:,\s*)?\b(?:(?:in|during|over|for|on)\s+)?(?:(?:em\s+|n)(?:ess[ea]|aquel[ea])|that"
    r"|(?:n[oa]\s+)?mesm[oa]|(?:the\s+)?same)\s+(?P<unit>m[eê]s|month|dia|day|semana|week|ano|year"
    r"|per[ií]odo|period|trimestre|quarter|semestre|semester|window|janela|intervalo|timeframe)\b"
    r"(?!\s+(?:passad|anterior|last|previous|before|de\s|do\s|da\s|of\s|in\s|em\s|\d))",
    re.IGNORECASE,
)


def _span_unit(state: _State) -> str | None:
    """The calendar unit the one period a question read is exactly (a local day, a week from
    Monday, a month, a year), or ``None``."""
    if len(state.reading.spans) != 1:
        return None
    span = state.reading.spans[0]
    start, end = span.start, span.end
    if start != P.midnight(start) or end != P.midnight(end):
        return None
    if P.add_days(start, 1) == end:
        return "day"
    if start.weekday() == 0 and P.add_days(start, 7) == end:
        return "week"
    month_end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    if start.day == 1 and end == month_end:
        return "month"
    if (start.month, start.day) == (1, 1) and end == start.replace(year=start.year + 1):
        return "year"
    months = (end.year - start.year) * 12 + end.month - start.month
    if start.day == 1 and end.day == 1 and months in (3, 6) and (start.month - 1) % months == 0:
        return "quarter" if months == 3 else "half"
    return None


# a follow-up about the answer just given: "which plant was that, and at what time?", "e
# quando foi isso?"
_ABOUT_THE_ANSWER = rx(
    r"^\W*(?:(?:and|e)\s+)?(?:(?:at|em|a|as|in|on)\s+)?(?:(?P<which>which|what|qual|que|quais)\s+"
    r"(?P<entity>plant|usina|state|estado|subsystem|subsistema|one|day|dia|hour|hora|horas|time"
    r"|horario)\s+(?:was|were|foi|eram|era|did\s+(?:it|that|this)\s+happen|aconteceu)"
    r"(?:\s+(?:that|it|this|essa|esse|isso|ela|ele))?|(?:when|quando)\s+(?:was|foi|did)\s+"
    r"(?:that|it|this|isso)(?:\s+happen)?|(?:when|quando)|(?:e\s+)?(?:a\s+)?que\s+horas)\b(?:\s*,?\s*(?:and|e)\s+(?:at\s+)?(?:what|which|que|qual)\s+"
    r"(?:time|hour|day|hora|horario|dia)\b|\s*,?\s*(?:and|e)\s+(?:when|quando)\b)?\W*$"
)
_ENTITY_TAG = {
    "plant": "nom_usina", "usina": "nom_usina", "state": "id_estado", "estado": "id_estado",
    "subsystem": "id_subsistema", "subsistema": "id_subsistema",
}  # fmt: skip


def _names_what_is_asked(model: QueryModel | None, folded: str) -> bool:
    """Whether the answer to ``model`` names what a question about it asks: the plant (state,
    subsystem) it ranked first, and the time of an extreme."""
    match = _ABOUT_THE_ANSWER.match(folded)
    if model is None or match is None:
        return False
    tag = _ENTITY_TAG.get(match.group("entity") or "")
    if tag is not None:
        ranked = model.top.tag if model.top is not None else None
        if ranked != tag and (ranked, tag) != ("id_ons", "nom_usina"):
            return False
    if tag is not None and model.top is not None:
        return True  # "qual usina foi essa?" after a top-1: the ranking names it
    return model.extreme_times or any(
        isinstance(leaf, Agg) and leaf.func in SELECTORS
        for s in model.selections
        for leaf in leaves(s.expr)
    )


def _fragment(question: str) -> tuple[re.Match[str] | None, str]:
    """A follow-up's connector ("e", "and", "what about"…) and the words after it."""
    connector = _FOLLOW_UP.match(fold(question))
    fragment = question[connector.end() :] if connector else question
    return connector, fragment.strip().rstrip("?!. ").strip()


def _slot_text(text: str, where: set[int]) -> str:
    """The characters of ``text`` at ``where``, a space between separate runs."""
    ordered = sorted(where)
    return "".join(
        (" " if k and i != ordered[k - 1] + 1 else "") + text[i] for k, i in enumerate(ordered)
    )


def _splice(earlier: str, gone: set[int], written: str, single: bool) -> str | None:
    """``earlier`` without the characters at ``gone`` (and the articles or prepositions left
    hanging before them), with ``written`` in their place when it replaces one part
    (``single``), else after the rest."""
    runs: list[tuple[int, int]] = []
    for i in sorted(gone):
        if runs and i <= runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    kept, last, insert_at, first_lead = [], 0, None, ""
    for start, end in runs:
        lead = _DANGLING.search(earlier[last:start])  # "do" of "do Sudeste"
        cut = last + lead.start() if lead else start
        kept.append(earlier[last:cut])
        if insert_at is None:
            insert_at, first_lead = len("".join(kept)), lead.group(0) if lead else ""
        last = end
    kept.append(earlier[last:])
    rest = re.sub(r"\s+", " ", "".join(kept))
    if insert_at is None or not single:
        rest = rest.strip().rstrip("?!. ")
        return f"{rest} {written}?" if rest else None
    article = _ARTICLE.match(written)
    if article and first_lead.strip() and not _ARTICLE.fullmatch(first_lead):
        written = first_lead + written[article.end() :]  # "in the" + "South", "do" + "Sul"
    head = re.sub(r"\s+", " ", "".join(kept)[:insert_at]).rstrip()
    tail = rest[len(head) :].lstrip()
    joined = " ".join(part for part in (head, written) if part)
    return f"{joined}{tail}" if tail[:1] in ("?", "!", ".", ",") else f"{joined} {tail}".strip()


_DIRECTION_WORD = rx(
    r"\b(?:n[oa]\s+|in\s+the\s+)?(?:sentido|direction)"
    r"(?=\s+(?:d[oa]\s+|from\s+)?[a-z/]+\s*(?:→|->|>|para|pro|pra|to)\s)"
)
# a sentence asking other hours: a follow-up ("and from 7pm to 10pm?") or a range of them
_OTHER_HOURS = re.compile(
    r"^\W*(?:and|e|or|ou|what\s+about|e\s+quanto)\b"
    r"|\b(?:from|das?|between|entre)\s+\d{1,2}(?::\d{2})?\s*(?:h|am|pm)?\s*(?:to|as|a|and|e|-|ate)\s+\d"
)
_CLOCK_TIME = re.compile(
    r"\b\d{1,2}(?::\d{2})?\s*(?:am|pm|h)\b|\b\d{1,2}:\d{2}\b|\b\d{1,2}h\d{2}\b"
)
# a plant type left out ("desconsiderando as nucleares", "excluding nuclear")
_EXCLUDED_KIND = rx(
    r"\b(?:desconsiderando|excluindo|exceto|tirando|sem\s+contar|excluding|except(?:\s+for)?"
    r"|not\s+counting|other\s+than|apart\s+from)\s+(?:(?:a|o|as|os|the)\s+)?(?:usinas\s+|plants?\s+)?"
    r"(?P<kind>nucleares|nuclear|eolicas?|wind|solares|solar|fotovoltaicas?|hidreletricas?|hidro"
    r"|hydro|termicas?|termeletricas?|thermal)\b"
)
# the previous answer pointed at: "this percent", "esse valor", "that number"
_THE_ANSWER_BEFORE = rx(
    r"\b(?:this|that|these|those|esse|essa|este|esta|esses|essas|aquele|aquela)\s+(?:percent(?:age)?s?"
    r"|values?|numbers?|figures?|shares?|percentua(?:l|is)|valor(?:es)?|numeros?|participac(?:ao|oes))\b"
)
# "same for …", "o mesmo para …", "idem": the question before, repeated with a change
_SAME_FOR = rx(
    r"^\W*(?:(?:and|e)\s+)?(?:(?:the|o|a)\s+)?(?:same|mesm[oa])\s+(?:thing\s+|coisa\s+)?(?:for|para|pra|but)\b"
    r"|^\W*idem\b"
)
# "qual das duas", "which of the two", "both": two of what is named, compared
_THE_TWO = rx(
    r"\b(?:d[oa]s\s+(?:dois|duas)|(?:of\s+)?the\s+two|both|ambas|ambos|as\s+duas|os\s+dois)\b"
)


def _without_context(written: str) -> tuple[str, list[str]]:
    """The question without its greetings, thanks, preamble or purpose, and what was taken: a
    part is context only if it names nothing (measure, subsystem, number) the rest does not."""
    context: list[str] = []
    for aside in reversed(list(_ASIDE.finditer(written))):
        # "(dia do apagão)", "(the DST switch day)": a remark that names nothing the rest does not
        rest = written[: aside.start()] + written[aside.end() :]
        if _data_words(aside.group(0)) <= _data_words(rest):
            context.append(aside.group(0).strip())
            written = rest
    quoted = _QUOTED.match(written)  # "Forwarding from Reuters: 'What was …?'": the question
    if quoted is not None and _ATTRIBUTION.search(fold(quoted.group("lead"))):
        context.append(quoted.group("lead").strip())
        written = quoted.group("q")
    appositive = _APPOSITIVE.search(written)
    if appositive is not None:
        unit = _APPOSITIVE_UNIT[fold(appositive.group("unit"))]
        rest = written[: appositive.start()] + written[appositive.end() :]
        if _PERIOD_BEFORE[unit].search(fold(written[: appositive.start()])) and _data_words(
            appositive.group(0)
        ) <= _data_words(rest):
            context.append(appositive.group(0).strip(" ,"))
            written = rest
    written = _without_label(written, context)
    sentences = _SENTENCE.split(written.strip())
    if len(sentences) > 1 and _GREETING_ONLY.fullmatch(fold(sentences[0])):
        # "Bom dia. Pra passagem de turno: qual foi …": the label after the greeting
        sentences = [sentences[0], _without_label(sentences[1], context), *sentences[2:]]
    if len(sentences) == 2 and _ASKER.match(fold(sentences[0])):
        # "Our plant sits in the Norte submarket. Avg CMO there last month?": where the asker
        # is, pointed at by "there" in the question that names no place of its own
        place = _ASKER_PLACE.search(sentences[0])
        there = _THERE.search(fold(sentences[1]))
        places = {*_STATES.values(), "SE", "NE", "S", "N", "SIN"}
        # one place, as the place readers read it ("Brazil's Northeast" names two: left alone)
        named_places = _data_words(place.group("place")) & places if place else set()
        if place and fold(place.group("place")) in _STATES:
            named_places.add(_STATES[fold(place.group("place"))])
        if place and there and len(named_places) == 1:
            named = place.group("place")
            sentences = [
                sentences[0],
                f"{sentences[1][: there.start()]}in {named}{sentences[1][there.end() :]}",
            ]
            about = {w for w in _data_words(sentences[0]) if not w.startswith("entity:")}
            if about - {"generation"} <= _data_words(sentences[1]):  # "our plant": the asker's
                context.append(sentences[0])
                sentences = sentences[1:]
            written = " ".join(sentences)
    if len(sentences) > 1:
        kept = [
            s
            for i, s in enumerate(sentences)
            if not _sentence_words(s)
            <= _sentence_words(" ".join(sentences[:i] + sentences[i + 1 :]))
            or all(_data_words(o) <= _data_words(s) for o in sentences if o is not s)
        ]
        context += [s for s in sentences if s not in kept]
        written = " ".join(kept)
    for request in _REQUEST.finditer(fold(written)):  # the first request after a preamble
        before, after = written[: request.start()], written[request.start() :]
        if request.start() > 0 and (
            _data_words(before) <= _data_words(after) or _asker_aside(before, after)
        ):
            context.append(before.strip())
            written = after
            break
    lead = _PURPOSE_LEAD.match(fold(written))  # "For my class I need …", "Pra minha aula, …"
    if lead is not None and not _data_words(written[: lead.end()]):
        context.append(written[: lead.end()].strip(" ,:"))
        written = written[lead.end() :]
    purpose = _PURPOSE.search(fold(written))
    # "so that I can compare months": a purpose naming a grain asks for it, never context
    grain = purpose is not None and re.search(
        r"\b" + _TIME_UNIT + r"\b", fold(written[purpose.start() :])
    )
    if purpose is not None and not grain and not _data_words(written[purpose.start() :]):
        context.append(written[purpose.start() :].strip(" ,"))
        written = written[: purpose.start()]
    for how in reversed(list(_DELIVERY.finditer(fold(written)))):
        if not _data_words(how.group(0)):  # how the answer is handed over: not what it is
            context.append(written[how.start() : how.end()].strip(" ,"))
            written = written[: how.start()] + written[how.end() :]
    return written, [c for c in context if c]


def _without_label(written: str, context: list[str]) -> str:
    """``written`` without a label heading it ("Passagem de turno: qual foi …", "Quick one:
    …"), added to ``context``; a name ("Xingó:", "Belo Monte:") is no label: two words or more,
    none capitalised after the first, or one word of :data:`_LABEL_WORDS`."""
    label = _LABEL.match(written)
    words = label.group(0).strip(" :").split() if label is not None else []
    if (
        label is not None
        and (len(words) > 1 or fold(words[0]) in _LABEL_WORDS if words else False)
        and not any(w[:1].isupper() for w in words[1:])
        and _data_words(label.group(0)) <= _data_words(written[label.end() :])
    ):
        context.append(label.group(0).strip(" :"))
        return written[label.end() :]
    lead = _LONG_LEAD.match(written)
    if (
        lead is not None
        and (_ASKER.match(fold(lead.group(0))) or _FOR_WHOM_LEAD.match(fold(lead.group(0))))
        and _data_words(lead.group(0)) <= _data_words(written[lead.end() :])
        and _states_named(lead.group(0)) <= _states_named(written[lead.end() :])
    ):
        # "Trabalho com reservatórios no Rio Grande e preciso atualizar o boletim: qual …",
        # "Pros alunos visualizarem a curva de carga: qual …": who asks or what for, then a colon
        context.append(lead.group(0).strip(" :"))
        return written[lead.end() :]
    return written


def _states_named(text: str) -> set[str]:
    """The states ``text`` names, by name or code ("Trabalho na Bahia …": BA)."""
    folded = fold(text)
    named = {code for name, code in _STATES.items() if re.search(rf"\b{name}\b", folded)}
    return named | {m.group(1) for m in _STATE_CODE.finditer(text)}


def _sentence_words(text: str) -> set[str]:
    """What a sentence names of the data, its hours of the day each apart ("… 10am to 3pm?
    and from 7pm to 10pm?": the second sentence asks another range, never context)."""
    folded = fold(text)
    if not _OTHER_HOURS.search(folded):  # "need it by 16:00!", "It's 9:40 here": the asker's
        return _data_words(text)
    clocks = {"clock:" + "".join(m.group(0).split()) for m in _CLOCK_TIME.finditer(folded)}
    return _data_words(text) | clocks


def _asker_aside(before: str, after: str) -> bool:
    """ "Trabalho numa distribuidora em SC e preciso da carga do Sul": who asks, beside a
    request that names its own place and points back to nothing ("quanto ela gerou")."""
    if not _ASKER.match(fold(before)):
        return False
    places = {*_STATES.values(), "SE", "NE", "S", "N", "SIN"}
    pointer = re.search(
        r"\b(?:ela|ele|elas|eles|dela|dele|it|its|they|them|their|there|la|ali)\b", fold(after)
    )
    return bool(_data_words(after) & places) and pointer is None


def _data_words(text: str) -> set[str]:
    """What ``text`` names of the data: measures, subsystems and whether it holds a number."""
    folded = fold(text)
    found = {key for pattern, key in _MEASURES_RX if pattern.search(folded)}
    found |= {code for pattern, code in _SUBSYSTEM_RX if pattern.search(folded)}
    found |= {m.group(1)[:2] for m in _SUBSYSTEM_CODES.finditer(text)}
    found |= {m.group(1) for m in _STATE_CODE.finditer(text)}
    found |= {str(agg) for pattern, agg in _AGG_RX if pattern.search(folded)}
    units = (_MWH, _MWMED, _MWMES, _PERCENT, _AMOUNT, _COUNT_STEPS)
    found |= {pattern.pattern for pattern in units if pattern.search(folded)}
    if _SCOPE_WORDS.search(folded):  # "show the averages for all four": what to show
        found.add("scope")
    # "(jan a out)": a period narrows the question, never context
    found |= {f"month:{MONTHS[m.group(0)]}" for m in _MONTH_WORD.finditer(folded)}
    found |= {
        f"period:{w}"
        for w in re.findall(r"[a-z]+", folded)
        if w in _PERIOD_WORDS and w not in _TIME_UNITS  # "Bom dia!": a unit alone names nothing
    }
    if P.names_relative_period(folded):  # "E no mesmo mês do ano passado?": a period too
        found.add("period:relative")
    # "Give me the top 5 states": a ranking, and of what
    found |= {f"rank:{m.group(0)}" for m in _RANK_WORDS.finditer(folded)}
    found |= {
        f"entity:{kind}"
        for m in re.finditer(r"\b(?:" + _ENTITY_ANY + r")\b", folded)
        for kind, value in m.groupdict().items()
        if value
    }
    return found | ({"number"} if re.search(r"\d", folded) else set())


_MONTH_WORD = rx(r"\b(?:" + P.MONTH_ANY + r")\b")
_RANKING_WORD = rx(r"\b(?:ranking|rank(?:ed)?|ordenad[oa]s?)\b")
_PROFILE_WORD = rx(r"\b(?:profile|perfil|curve|curva|shape|(?:diaria\s+)?tipica)\b")
_MINUS = rx(r"\b(?:minus|menos)\b")
_RANK_VERB_BEFORE = rx(
    r"\b(?:rank|ranking|ordene|ordenar|classifique|sort)\s+(?:the\s+|os\s+|as\s+)?$"
)
_RANK_VERB = rx(r"\b(?:rank|ranking|ordene|ordenar|classifique|sort|order)\b")
_RANK_WORDS = rx(r"\b(?:top|bottom|ranking|rank|maiores|menores|largest|smallest)\b")
_SCOPE_WORDS = rx(
    r"\b(?:all|each|every|both|todos|todas|cada|ambos|ambas|two|three|four|five|dois|duas|tres"
    r"|quatro|cinco)\b"
)


def _profile_column(st: _State) -> str:
    """The column of a profile's hour or weekday, in the question's language."""
    pt = _language(st.text.norm) == "pt"
    if st.by_day_of_week:
        return "dia_da_semana" if pt else "weekday"
    return "hora" if pt else "hour"


def _language(norm: str) -> str:
    pt, en = len(_PT_HINTS.findall(norm)), len(_EN_HINTS.findall(norm))
    return "pt" if pt >= en else "en"


def translate(
    question: str,
    now: datetime | None = None,
    timezone: str = ONS_TIMEZONE,
    latest: LatestData | None = None,
    plants: KnownPlants | None = None,
    earliest: LatestData | None = None,
) -> Translation:
    """Translate with the default :class:`RuleTranslator`."""
    reader = RuleTranslator(timezone=timezone, latest=latest, plants=plants, earliest=earliest)
    return reader.translate(question, now)
