"""Realistic, deterministic generator of ONS and legacy-platform time series.

Two views of the same data:

* ``generate_canonical``: canonical records (``schema.table(t).arrow_schema()``, rows sorted by
  time then tags) for a half-open UTC window, yielded one *generation day* at a time: the local
  (America/Sao_Paulo) day for ONS tables, the UTC day for the legacy platform's tables.
* ``generate_raw_ons``: one local day as ONS publishes it: string columns with the real ONS names
  and order, local clock labels, numbers written as ONS writes them, empty strings when missing.

Determinism: every value of a (seed, table, day) comes from NumPy generators seeded with a BLAKE2
hash of (seed, name, day), so any window that covers a day yields the same rows for it.

Model: one simulated power system per local day (``_system_day``) feeds every table, so tables
agree with each other: plant generation sums to the balanço totals per subsystem and source
(nuclear counts as thermal, as in ONS), balanço carga equals curva de carga, balanço interchange
equals the net of the intercâmbio flows (N→NE, N→SE, NE→SE, SE→S; so the four subsystems' values
sum to exactly 0 and the SIN row, the sum of the four, has interchange 0) and generation − load
= interchange per subsystem.

Values: every canonical value ``v`` is an integer number of 1e-8 units, so
``v == float(f"{v:.8f}")`` and the ``fixed8`` and ``shortest`` renderings parse back to exactly
``v``; ``float32`` renderings (as in ONS's 2023 EAR/ENA files) are lossy by nature (relative error
< 6e-8). Values carry ONS's source precision (3 decimals; 2 for CMO; 4 for %MLT) and, like ONS
files, a share of them the ``…99999`` artefact (``10455.81799999``).

Missing data: each ONS field is NULL at ``null_rate``. A canonical row is a Timestream record, so
it has at least one non-NULL field: all-NULL rows are absent from the canonical view and present
with empty values in the raw view. Legacy records always have a value; their optional
``quality_flag`` tag is sometimes NULL.

Raw ↔ canonical: parsing a raw day (``ons_time.parse_local``; nonexistent DST rows and all-empty
rows dropped) gives the canonical day, except that the second occurrence of a repeated fall-back
hour is not written by default (ONS files show that hour once): ``repeated_hour='drop'``.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ons_pipeline.lib import ons_time
from ons_pipeline.lib.schema import Source, TableSpec
from ons_pipeline.lib.schema import table as table_spec

NumberStyle = Literal["fixed8", "shortest", "float32"]
DstGap = Literal["absent", "empty"]
RepeatedHour = Literal["drop", "repeat"]

NULL_RATE = 0.002
ARTEFACT_RATE = 0.15
UNITS_PER_ONE = 100_000_000  # canonical values are integers of 1e-8
HOUR_NS = 3_600 * ons_time.NS_PER_SECOND
DAY_NS = ons_time.NS_PER_DAY

# Subsystems in canonical (sorted) order; arrays of shape (4, ...) follow it.
SUBSYSTEMS = ("N", "NE", "S", "SE")
_SUB_INDEX = {s: i for i, s in enumerate(SUBSYSTEMS)}
_NAMES = {"N": "NORTE", "NE": "NORDESTE", "S": "SUL", "SE": "SUDESTE"}
_BALANCO_NAMES = {**_NAMES, "SE": "SUDESTE/CENTRO-OESTE", "SIN": "SISTEMA INTERLIGADO NACIONAL"}
# Directed interchange pairs (origin, destination); a positive value flows origin → destination.
PAIRS = (("N", "NE"), ("N", "SE"), ("NE", "SE"), ("SE", "S"))
# Row order of the subsystems within one instant in the real ONS files.
_ONS_ROW_ORDER = {
    "curva_carga": ("N", "NE", "S", "SE"),
    "balanco_subsistema": ("NE", "N", "SIN", "SE", "S"),
    "cmo_semihorario": ("NE", "N", "SE", "S"),
    "ear_diario": ("NE", "N", "SE", "S"),
    "ena_diario": ("N", "NE", "S", "SE"),
}
_TIME_FIRST = {"intercambio", "geracao_usina"}  # ONS files whose first column is din_instante

_LOAD_MW = np.array([6_000.0, 11_000.0, 12_000.0, 40_000.0])  # mean load around 2023
_WEEKDAY_SHAPE = np.array(
    [
        0.83,
        0.80,
        0.78,
        0.77,
        0.77,
        0.79,
        0.83,
        0.88,
        0.94,
        0.99,
        1.02,
        1.04,
        1.03,
        1.04,
        1.06,
        1.06,
        1.05,
        1.03,
        1.04,
        1.07,
        1.07,
        1.03,
        0.96,
        0.89,
    ]
)
_WEEKDAY_SHAPE = _WEEKDAY_SHAPE / _WEEKDAY_SHAPE.mean()
_HOLIDAYS = {(1, 1), (4, 21), (5, 1), (9, 7), (10, 12), (11, 2), (11, 15), (12, 25)}
_LATITUDE = np.radians([-3.0, -9.0, -27.0, -19.0])
_LONGITUDE = np.array([-48.0, -40.0, -51.0, -46.0])
_WET_PEAK_DOY = np.array([80.0, 70.0, 250.0, 45.0])
_WET_AMPLITUDE = np.array([0.5, 0.5, 0.3, 0.5])
# Share of hydro capacity each subsystem offers: base + slope * wetness (N: the Amazon rivers).
_HYDRO_BASE = np.array([0.10, 0.15, 0.30, 0.35])
_HYDRO_SLOPE = np.array([0.55, 0.35, 0.30, 0.35])
_HYDRO_MAX_USE = 0.92
_EAR_MAX = np.array([15_302.396, 51_691.227, 20_459.112, 204_615.328])  # MWmês
_EAR_MID = np.array([60.0, 55.0, 62.0, 50.0])
_EAR_AMPLITUDE = np.array([32.0, 25.0, 14.0, 22.0])
_EAR_PEAK_DOY = np.array([130.0, 120.0, 280.0, 120.0])
_ENA_MLT = np.array(  # long-term mean natural inflow energy per month, MWmed
    [
        [
            15518.6,
            22563.3,
            28000.0,
            29000.0,
            21000.0,
            10000.0,
            5500.0,
            3500.0,
            2600.0,
            2700.0,
            4200.0,
            8700.0,
        ],
        [
            13500.0,
            15000.0,
            15500.0,
            13000.0,
            7000.0,
            4500.0,
            3800.0,
            3200.0,
            2700.0,
            2800.0,
            5000.0,
            9500.0,
        ],
        [
            10000.0,
            10500.0,
            8500.0,
            9000.0,
            11000.0,
            13000.0,
            14500.0,
            13500.0,
            14000.0,
            16000.0,
            12000.0,
            10000.0,
        ],
        [
            56000.0,
            60000.0,
            55000.0,
            42000.0,
            30000.0,
            25000.0,
            21000.0,
            17500.0,
            16000.0,
            19000.0,
            26000.0,
            42000.0,
        ],
    ]
)
_ENA_STORABLE_MLT_SHARE = 0.95

# Legacy platform (ons_energy_data): English region names, one dataset per table.
_REGIONS = {"N": "north", "NE": "northeast", "S": "south", "SE": "southeast"}
_QUALITY_FLAGS = ("good", "estimated", "suspect")
_QUALITY_P = (0.92, 0.03, 0.01)  # the rest (0.04) is NULL
_LEGACY_DATASET = {
    "generation_data": "balanco_energia_subsistema",
    "consumption_data": "curva_carga",
    "transmission_data": "intercambio_nacional",
}
_MEASUREMENT_TYPES = ("scheduled", "verified")
_ENERGY_SOURCES = ("hydro", "nuclear", "solar", "thermal", "wind")
_CONSUMER_TYPES = ("commercial", "industrial", "residential")


# --- deterministic randomness -----------------------------------------------------------------


def _rng(seed: int, *parts: object) -> np.random.Generator:
    """A NumPy generator seeded from a stable hash of ``(seed, *parts)``."""
    key = "\x1f".join([str(int(seed)), *(str(p) for p in parts)]).encode()
    digest = hashlib.blake2b(key, digest_size=16).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


@cache
def _smooth_terms(seed: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    phases = _rng(seed, "smooth", name).uniform(0, 2 * np.pi, 4)
    periods = np.array([1130.0, 617.0, 233.0, 71.0])
    return periods, phases


def _smooth(seed: int, name: str, day: date) -> float:
    """A slow, continuous anomaly in about [-1, 1] (multi-year droughts, wet spells)."""
    periods, phases = _smooth_terms(seed, name)
    weights = np.array([0.5, 0.3, 0.15, 0.05])
    angle = 2 * np.pi * day.toordinal() / periods + phases
    return float(np.sum(weights * np.sin(angle)))


def _season(day: date, peak_doy: np.ndarray | float) -> np.ndarray:
    """cos of the day of year relative to a peak day (1 at the peak, -1 half a year later)."""
    doy = day.timetuple().tm_yday
    return np.cos(2 * np.pi * (doy - np.asarray(peak_doy)) / 365.25)


def _growth(day: date) -> float:
    """System size relative to 2023 (about 2 % a year)."""
    years = day.year + day.timetuple().tm_yday / 365.25 - 2023.5
    return float(np.clip(1.02**years, 0.45, 1.4))


def _wetness(seed: int, day: date) -> np.ndarray:
    """Hydrological wetness per subsystem in [0, 1]: wet Dec–Apr (S: winter-spring)."""
    anomaly = np.array([_smooth(seed, f"wet-{s}", day) for s in SUBSYSTEMS])
    wet = 0.5 + _WET_AMPLITUDE * _season(day, _WET_PEAK_DOY) + 0.15 * anomaly
    return np.clip(wet, 0.0, 1.0)


# --- plant catalogue --------------------------------------------------------------------------

_STATES = {
    "N": {"AM": "AMAZONAS", "AP": "AMAPA", "MA": "MARANHAO", "PA": "PARA", "TO": "TOCANTINS"},
    "NE": {
        "AL": "ALAGOAS",
        "BA": "BAHIA",
        "CE": "CEARA",
        "PB": "PARAIBA",
        "PE": "PERNAMBUCO",
        "PI": "PIAUI",
        "RN": "RIO GRANDE DO NORTE",
        "SE": "SERGIPE",
    },
    "S": {"PR": "PARANA", "RS": "RIO GRANDE DO SUL", "SC": "SANTA CATARINA"},
    "SE": {
        "AC": "ACRE",
        "ES": "ESPIRITO SANTO",
        "GO": "GOIAS",
        "MG": "MINAS GERAIS",
        "MS": "MATO GROSSO DO SUL",
        "MT": "MATO GROSSO",
        "RJ": "RIO DE JANEIRO",
        "RO": "RONDONIA",
        "SP": "SAO PAULO",
    },
}
_STATE_SUB = {uf: sub for sub, states in _STATES.items() for uf in states}
_KIND_TYPE = {
    "H": "HIDROELÉTRICA",
    "T": "TÉRMICA",
    "U": "NUCLEAR",
    "W": "EOLIELÉTRICA",
    "S": "FOTOVOLTAICA",
}
KINDS = ("H", "T", "U", "W", "S")  # hydro, thermal, nuclear (uranium), wind, solar

# uf | modalidade | kind | combustível | nome | id_ons | ceg | MW. Real plants (names as ONS
# writes them) plus a few with the punctuation the files can hold (commas, dots, parentheses).
_ANCHORS = """
AM|TIPO I|H|Hidráulica|Balbina|AMBA|UHE.PH.AM.000190-2.01|250
AM|TIPO III|T|Óleo Combustível|Electron|AMELC|UTE.PE.AM.027120-9.01|120
AM|TIPO I|T|Gás|Mauá 3|AMCM|UTE.GN.AM.031888-4.01|590
AM|TIPO II-A|T|Óleo Diesel|Flores 1|AMFL1|UTE.PE.AM.029192-7.01|20
AM|TIPO I|T|Gás|Aparecida|AMAA|UTE.GN.AM.027250-7.02|166
AP|TIPO I|H|Hidráulica|Santo Antônio do Jari|APSAJ|UHE.PH.AP.026792-9.01|393
AP|TIPO I|H|Hidráulica|Coaracy Nunes|APCN|UHE.PH.AP.000783-8.01|78
AP|TIPO I|H|Hidráulica|Ferreira Gomes|APFGO|UHE.PH.AP.030385-2.01|252
AP|TIPO I|H|Hidráulica|Cachoeira Caldeirão|APUCCA|UHE.PH.AP.031186-3.01|219
PA|TIPO I|H|Hidráulica|Tucuruí|PATU|UHE.PH.PA.002889-4.01|8370
PA|TIPO I|H|Hidráulica|Belo Monte|PABM|UHE.PH.PA.030354-2.01|11000
PA|TIPO I|H|Hidráulica|Pimental|PAPI|UHE.PH.PA.030354-2.02|233
PA|TIPO I|H|Hidráulica|Curuá-Una|PACU|UHE.PH.PA.027130-6.01|42
MA|TIPO I|H|Hidráulica|Estreito|MAUHET|UHE.PH.MA.028863-2.01|1087
MA|TIPO I|T|Carvão|Porto do Itaqui|MAUTPI|UTE.CM.MA.029700-3.01|360
MA|TIPO I|T|Gás|Parnaíba IV|MAUTP4|UTE.GN.MA.031193-6.01|56
MA|TIPO I|T|Gás|Maranhão IV|MAUTM4|UTE.GN.MA.030202-3.01|338
MA|Conjunto de Usinas|W|Eólica|Conj. Paulino Neves|CJU_MAPLN|-|426
TO|TIPO I|H|Hidráulica|Luís Eduardo Magalhães (Lajeado)|TOLJ|UHE.PH.TO.027053-1.01|903
TO|TIPO I|H|Hidráulica|Peixe Angical|TOPA|UHE.PH.TO.028402-5.01|499
TO|TIPO I|H|Hidráulica|São Salvador|TOSSA|UHE.PH.TO.028931-0.01|243
AL|TIPO I|H|Hidráulica|Xingó|ALUXG|UHE.PH.SE.027053-9.01|3162
BA|TIPO I|H|Hidráulica|Paulo Afonso IV|BAPA4|UHE.PH.BA.001541-5.01|2462
BA|TIPO I|H|Hidráulica|Sobradinho|BASB|UHE.PH.BA.001544-0.01|1050
PE|TIPO I|H|Hidráulica|Luiz Gonzaga|PELG|UHE.PH.PE.001543-1.01|1479
BA|TIPO I|H|Hidráulica|Itapebi|BAIT|UHE.PH.BA.027370-8.01|462
BA|Conjunto de Usinas|W|Eólica|Conj. Delfina|CJU_BADFN|-|180
CE|Conjunto de Usinas|W|Eólica|Conj. Pedra Cheirosa|CJU_CECHE|-|51
PB|Conjunto de Usinas|S|Fotovoltaica|Conj. Rio Alto|CJU_PBRAL|-|150
PE|Conjunto de Usinas|W|Eólica|Conj. Caetés II|CJU_PECE2|-|190
PI|Conjunto de Usinas|W|Eólica|Conj. Lagoa dos Ventos 2|CJU_PILDV2|-|716
RN|Conjunto de Usinas|W|Eólica|Conj. Cutia|CJU_RNCUT|-|312
BA|Conjunto de Usinas|W|Fotovoltaica|Conj. Folha Larga|CJU_BAFLL|-|151
BA|Conjunto de Usinas|S|Fotovoltaica|Usina Solar Sol do Sertão, Fase 2|CJU_BASS2|-|180
PI|Conjunto de Usinas|S|Fotovoltaica|Usina Solar Nova Olinda, Fase 1|CJU_PINO1|-|292
SE|TIPO I|T|Gás|Porto de Sergipe I|SEUPS1|UTE.GN.SE.032228-8.01|1516
CE|TIPO I|T|Carvão|Pecém I|CEUPC1|UTE.CM.CE.029244-3.01|720
CE|TIPO I|T|Carvão|Pecém II|CEUPC2|UTE.CM.CE.029245-1.01|365
PE|TIPO I|T|Gás|Termopernambuco|PEUTPE|UTE.GN.PE.027290-6.01|533
BA|TIPO I|T|Gás|Celso Furtado (Termobahia)|BAUTB|UTE.GN.BA.027305-8.01|186
RJ|TIPO I|U|Nuclear|Angra 1|RJAN1|UTN.UR.RJ.027360-3.01|640
RJ|TIPO I|U|Nuclear|Angra 2|RJAN2|UTN.UR.RJ.027361-1.01|1350
RO|TIPO I|H|Hidráulica|Jirau|ROJI|UHE.PH.RO.029736-4.01|3750
RO|TIPO I|H|Hidráulica|Santo Antônio|ROSA|UHE.PH.RO.029735-6.01|3568
SP|TIPO I|H|Hidráulica|Ilha Solteira|SPIS|UHE.PH.SP.001510-5.01|3444
SP|TIPO I|H|Hidráulica|Engenheiro Souza Dias (Jupiá)|SPJP|UHE.PH.SP.001508-3.01|1551
SP|TIPO I|H|Hidráulica|Porto Primavera|SPPP|UHE.PH.SP.001521-0.01|1540
MG|TIPO I|H|Hidráulica|São Simão|MGSS|UHE.PH.MG.001528-8.01|1710
GO|TIPO I|H|Hidráulica|Itumbiara|GOIT|UHE.PH.GO.001527-0.01|2082
MG|TIPO I|H|Hidráulica|Furnas|MGFU|UHE.PH.MG.001520-1.01|1216
MG|TIPO I|H|Hidráulica|Emborcação|MGEM|UHE.PH.MG.001516-4.01|1192
GO|TIPO I|H|Hidráulica|Serra da Mesa|GOSM|UHE.PH.GO.027056-3.01|1275
MG|TIPO I|H|Hidráulica|Marimbondo|MGMB|UHE.PH.MG.001524-5.01|1440
SP|TIPO I|H|Hidráulica|Água Vermelha|SPAV|UHE.PH.SP.001509-1.01|1396
MG|TIPO I|H|Hidráulica|Luís Carlos Barreto (Estreito)|MGLCB|UHE.PH.MG.001522-9.01|1050
MG|TIPO I|H|Hidráulica|Mascarenhas de Moraes (Peixoto)|MGMM|UHE.PH.MG.001523-7.01|476
MT|TIPO I|H|Hidráulica|Teles Pires|MTTP|UHE.PH.MT.030806-4.01|1820
RJ|TIPO I|T|Gás|Governador Leonel Brizola (TermoRio)|RJTR|UTE.GN.RJ.027285-0.01|1058
RJ|TIPO I|T|Gás|Norte Fluminense|RJNF|UTE.GN.RJ.027282-5.01|827
RJ|TIPO I|T|Gás|GNA I|RJGNA1|UTE.GN.RJ.033512-6.01|1338
MG|Conjunto de Usinas|S|Fotovoltaica|Conj. Pirapora|CJU_MGPIR|-|321
MG|Conjunto de Usinas|S|Fotovoltaica|Usina Solar Jaíba, Fase 1|CJU_MGJB1|-|210
MG|Pequenas Usinas (Tipo III)|H|Hidráulica|Pequenas Usinas (Tipo III)|PQU_MGPUT|-|340
PR|TIPO I|H|Hidráulica|Gov. Bento Munhoz (Foz do Areia)|PRFA|UHE.PH.PR.001531-8.01|1676
PR|TIPO I|H|Hidráulica|Salto Santiago|PRSS|UHE.PH.PR.001536-9.01|1420
PR|TIPO I|H|Hidráulica|Salto Osório|PRSO|UHE.PH.PR.001535-0.01|1078
PR|TIPO I|H|Hidráulica|Segredo|PRSG|UHE.PH.PR.001534-2.01|1260
PR|TIPO I|H|Hidráulica|Salto Caxias|PRSC|UHE.PH.PR.027084-9.01|1240
SC|TIPO I|H|Hidráulica|Itá|SCITA|UHE.PH.SC.027079-2.01|1450
SC|TIPO I|H|Hidráulica|Machadinho|SCMA|UHE.PH.SC.027080-6.01|1140
SC|TIPO I|H|Hidráulica|Campos Novos|SCCN|UHE.PH.SC.028400-9.01|880
PR|TIPO I|H|Hidráulica|Mauá|PRMAU|UHE.PH.PR.029727-5.01|361
PR|TIPO I|H|Hidráulica|Santa Clara (PR)|PRSCL|UHE.PH.PR.028361-4.01|120
SC|TIPO I|H|Hidráulica|Quebra Queixo|SCUQQX|UHE.PH.SC.002167-9.01|120
SC|TIPO I|T|Carvão|Jorge Lacerda IV|SCJL4|UTE.CM.SC.001543-7.01|363
RS|TIPO I|T|Carvão|Candiota III|RSCD3|UTE.CM.RS.029229-0.01|350
PR|TIPO I|T|Gás|Araucária|PRUEG|UTE.GN.PR.027294-9.01|484
RS|Conjunto de Usinas|W|Eólica|Conj. Quinta 138 kV|CJU_RSQ138|-|180
SC|Pequenas Usinas (Tipo III)|W|Eólica|PEQUENAS CENTRAIS EOLIELÉTRICAS DA CELESC|PQU_PECSD|-|30
"""

_PLACES = {
    "N": [
        "Manaus",
        "Iranduba",
        "Manacapuru",
        "Itacoatiara",
        "Parintins",
        "Macapá",
        "Santana",
        "Oiapoque",
        "Laranjal do Jari",
        "Belém",
        "Barcarena",
        "Marabá",
        "Santarém",
        "Altamira",
        "Itaituba",
        "Jacundá",
        "São Luís",
        "Imperatriz",
        "Açailândia",
        "Bacabal",
        "Santo Antônio dos Lopes",
        "Barreirinhas",
        "Tutóia",
        "Araguaína",
        "Porto Nacional",
        "Gurupi",
        "Tocantinópolis",
        "Conceição do Araguaia",
        "Redenção",
        "Paragominas",
        "Castanhal",
        "Abaetetuba",
        "Tucumã",
        "Xinguara",
    ],
    "NE": [
        "Caetité",
        "Igaporã",
        "Guanambi",
        "Brotas de Macaúbas",
        "Sento Sé",
        "Casa Nova",
        "Juazeiro",
        "Morro do Chapéu",
        "Campo Formoso",
        "Umburanas",
        "Ourolândia",
        "Xique-Xique",
        "Gentio do Ouro",
        "Tanque Novo",
        "Pindaí",
        "Riachão",
        "Sobral",
        "Acaraú",
        "Aracati",
        "Trairi",
        "Amontada",
        "Icaraí",
        "Camocim",
        "Beberibe",
        "Itarema",
        "Tianguá",
        "Ibiapina",
        "Parnaíba",
        "Simões",
        "Marcolândia",
        "Caldeirão Grande",
        "Lagoa do Barro",
        "Dom Inocêncio",
        "Queimada Nova",
        "São Gonçalo do Gurguéia",
        "Ribeira do Piauí",
        "Lajes",
        "João Câmara",
        "Parazinho",
        "Touros",
        "Guamaré",
        "Macau",
        "Areia Branca",
        "Serra do Mel",
        "Jandaíra",
        "Santana do Matos",
        "Currais Novos",
        "Pedra Grande",
        "São Bento do Norte",
        "Galinhos",
        "Araripina",
        "Tacaratu",
        "São José do Belmonte",
        "Serra Talhada",
        "Garanhuns",
        "Coremas",
        "Malta",
        "Santa Luzia",
        "São Mamede",
        "Sumé",
        "Canindé de São Francisco",
        "Pão de Açúcar",
        "Piranhas",
        "Barra dos Coqueiros",
        "Aquiraz",
        "Camaçari",
        "Candeias",
        "Lençóis",
        "Irecê",
        "Bom Jesus da Lapa",
        "Tabocas do Brejo Velho",
        "Oliveira dos Brejinhos",
        "Jaguarari",
        "Mangue Seco",
        "Baixa do Feijão",
        "Chapada do Araripe",
        "Serra da Babilônia",
        "Boa Vista do Tupim",
        "Várzea da Roça",
        "Sertão do Pajeú",
        "Cacimbas",
        "Ventania",
        "Alto do Rodrigues",
        "Assú",
        "Mossoró",
        "Apodi",
        "Afonso Bezerra",
        "Pedro Avelino",
        "Caiçara do Norte",
    ],
    "SE": [
        "Pirapora",
        "Janaúba",
        "Jaíba",
        "Paracatu",
        "Guaimbê",
        "Ituverava",
        "Sertãozinho",
        "Piracicaba",
        "Araraquara",
        "Ribeirão Preto",
        "Barretos",
        "Jaboticabal",
        "Presidente Prudente",
        "Três Lagoas",
        "Campo Grande",
        "Dourados",
        "Cuiabá",
        "Rondonópolis",
        "Várzea Grande",
        "Anápolis",
        "Rio Verde",
        "Uberaba",
        "Uberlândia",
        "Araguari",
        "Patos de Minas",
        "Montes Claros",
        "Governador Valadares",
        "Juiz de Fora",
        "Ipatinga",
        "Itabira",
        "Conceição do Mato Dentro",
        "Campos dos Goytacazes",
        "Macaé",
        "Seropédica",
        "Santa Cruz",
        "Duque de Caxias",
        "Vitória",
        "Linhares",
        "Cachoeiro de Itapemirim",
        "Aimorés",
        "Capim Branco",
        "Queimado",
        "Picada",
        "São Domingos",
        "Espora",
        "Salto do Rio Verdinho",
        "Caçu",
        "Itaguaçu",
        "Corumbá",
        "Batalha",
        "Serra do Facão",
        "Guaporé",
        "Juruena",
        "Sapezal",
        "Samuel",
        "Rio Branco",
        "Porto Velho",
        "Ji-Paraná",
        "Vilhena",
        "Ourinhos",
        "Avaré",
        "Jurumirim",
        "Chavantes",
        "Taquaruçu",
        "Rosana",
        "Promissão",
        "Ibitinga",
        "Bariri",
        "Barra Bonita",
        "Nova Avanhandava",
        "Três Irmãos",
        "Igarapava",
        "Volta Grande",
        "Porto Colômbia",
        "Jaguara",
        "Miranda",
        "Amador Aguiar",
        "Camargos",
        "Itutinga",
        "Sá Carvalho",
        "Guilman-Amorim",
        "Salto Grande",
        "Porto Estrela",
        "Baguari",
        "Retiro Baixo",
        "Candonga",
        "Fumaça",
        "Pai Joaquim",
        "Itiquira",
        "Manso",
        "Ponte de Pedra",
        "Dardanelos",
        "Colíder",
        "Sinop",
        "São Manoel",
        "Irapé",
        "Mascarenhas",
        "Funil",
        "Simplício",
        "Anta",
        "Ilha dos Pombos",
        "Nilo Peçanha",
        "Fontes Nova",
        "Pereira Passos",
        "Paraibuna",
        "Jaguari",
        "Caconde",
        "Euclides da Cunha",
        "Limoeiro",
        "Lajes do Muriaé",
        "Cana Brava",
        "Corumbá IV",
        "Barra dos Bugres",
        "Canarana",
        "Nova Ponte",
        "Três Marias",
        "Piumhi",
        "Lavras",
        "Andradina",
        "Penápolis",
        "Catanduva",
        "Jaú",
        "Lins",
    ],
    "S": [
        "Osório",
        "Palmares do Sul",
        "Santa Vitória do Palmar",
        "Chuí",
        "Tramandaí",
        "Livramento",
        "Cerro Chato",
        "Água Doce",
        "Bom Jardim da Serra",
        "Candiota",
        "Charqueadas",
        "Uruguaiana",
        "Canoas",
        "Guarapuava",
        "Pato Branco",
        "Chapecó",
        "Joaçaba",
        "Lages",
        "Blumenau",
        "Criciúma",
        "Tubarão",
        "Capivari de Baixo",
        "Erechim",
        "Passo Fundo",
        "Santa Maria",
        "Bagé",
        "Rio Grande",
        "Pelotas",
        "Cascavel",
        "Foz do Iguaçu",
        "Ponta Grossa",
        "Telêmaco Borba",
        "Castro",
        "Palmas",
        "União da Vitória",
        "Caxias do Sul",
        "Bento Gonçalves",
        "Garibaldi",
        "Monte Claro",
        "Castro Alves",
        "14 de Julho",
        "Dona Francisca",
        "Itaúba",
        "Jacuí",
        "Passo Real",
        "Ernestina",
        "Passo São João",
        "Monjolinho",
        "Baixo Iguaçu",
        "Governador Parigot de Souza",
        "Guaricana",
        "Chaminé",
        "Apucaraninha",
        "Mourão",
        "Salto do Vau",
        "Cavernoso",
        "Rio dos Patos",
        "Garcia",
        "Bracinho",
        "Cedros",
        "Pery",
        "Celso Ramos",
        "Xanxerê",
        "Foz do Chapecó",
        "Barra Grande",
        "Passo São Borja",
    ],
}

# (subsystem, kind) -> (number of plants, total MW around 2023, anchors included).
_FLEET = {
    ("N", "H"): (22, 28_000),
    ("NE", "H"): (14, 11_000),
    ("SE", "H"): (95, 45_000),
    ("S", "H"): (45, 17_000),
    ("N", "T"): (25, 3_500),
    ("NE", "T"): (30, 7_000),
    ("SE", "T"): (60, 20_000),
    ("S", "T"): (20, 4_000),
    ("SE", "U"): (2, 1_990),
    ("N", "W"): (6, 900),
    ("NE", "W"): (140, 18_000),
    ("S", "W"): (18, 2_000),
    ("N", "S"): (2, 150),
    ("NE", "S"): (35, 6_000),
    ("S", "S"): (3, 200),
    ("SE", "S"): (18, 3_000),
}
_FUELS = ("Gás", "Óleo Diesel", "Óleo Combustível", "Biomassa", "Carvão", "Resíduos Industriais")
_FUEL_P = (0.36, 0.2, 0.14, 0.2, 0.04, 0.06)
_FUEL_CEG = {
    "Hidráulica": "PH",
    "Gás": "GN",
    "Óleo Diesel": "PE",
    "Óleo Combustível": "PE",
    "Biomassa": "AI",
    "Carvão": "CM",
    "Resíduos Industriais": "RI",
    "Nuclear": "UR",
    "Eólica": "CV",
    "Fotovoltaica": "RS",
}
_DISPATCH = {
    "Gás": 0.5,
    "Óleo Diesel": 0.08,
    "Óleo Combustível": 0.12,
    "Biomassa": 0.55,
    "Carvão": 0.75,
    "Resíduos Industriais": 0.7,
    "Nuclear": 1.0,
}
# States where wind and solar plants are sited (hydro and thermal: any state of the subsystem).
_RENEWABLE_STATES = {
    ("N", "W"): ("MA",),
    ("NE", "W"): ("BA", "BA", "RN", "RN", "CE", "PI", "PE", "PB"),
    ("S", "W"): ("RS", "RS", "RS", "SC", "PR"),
    ("N", "S"): ("TO",),
    ("S", "S"): ("RS", "SC"),
    ("NE", "S"): ("BA", "PI", "CE", "PE", "PB", "RN"),
    ("SE", "S"): ("MG", "MG", "SP", "GO"),
}
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")
_STOP_WORDS = {
    "DE",
    "DO",
    "DA",
    "DOS",
    "DAS",
    "E",
    "CONJ",
    "USINA",
    "SOLAR",
    "PCH",
    "UTE",
    "EOL",
    "UFV",
    "FASE",
    "COMPLEXO",
    "EOLICO",
    "PARQUE",
    "BIOENERGIA",
    "TERMO",
    "CIA",
}

PLANT_TAGS = (
    "id_subsistema",
    "nom_subsistema",
    "id_estado",
    "nom_estado",
    "cod_modalidadeoperacao",
    "nom_tipousina",
    "nom_tipocombustivel",
    "nom_usina",
    "id_ons",
    "ceg",
)


@dataclass(frozen=True)
class PlantCatalogue:
    """The fixed plant list of ``geracao_usina``, sorted as canonical rows are (by the tags)."""

    tags: pa.Table  # one row per plant, the PLANT_TAGS columns
    subsystem: np.ndarray  # index into SUBSYSTEMS
    kind: np.ndarray  # one of KINDS
    fuel: np.ndarray  # nom_tipocombustivel
    capacity_mw: np.ndarray  # around 2023
    site: np.ndarray  # per-plant resource factor (wind, solar)
    dispatch: np.ndarray  # thermal propensity to be dispatched

    def __len__(self) -> int:
        return self.tags.num_rows


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _abbreviation(name: str) -> str:
    words = [
        w
        for w in "".join(c if c.isalnum() else " " for c in _ascii(name)).upper().split()
        if w not in _STOP_WORDS
    ]
    if not words:
        return "X"
    if len(words) == 1:
        return words[0][:3]
    return "".join(w[0] if not w.isdigit() else w for w in words[:4])


def _plant_name(kind: str, modalidade: str, fuel: str, place: str, rng: np.random.Generator) -> str:
    roll = rng.random()
    if kind == "H":
        if modalidade in ("TIPO III", "TIPO II-A") and roll < 0.6:
            return f"PCH {place}"
        return place
    if kind == "W":
        if modalidade == "Conjunto de Usinas":
            if roll < 0.15:
                return f"Complexo Eólico {place}, Parque {rng.integers(1, 9)}"
            return f"Conj. Ventos de {place}" if roll < 0.35 else f"Conj. {place}"
        return f"EOL {place}"
    if kind == "S":
        if roll < 0.25:
            return f"Usina Solar {place}, Fase {rng.integers(1, 5)}"
        return f"Conj. Solar {place}" if modalidade == "Conjunto de Usinas" else f"UFV {place}"
    if fuel == "Biomassa":
        return f"Bioenergia {place}" if roll < 0.5 else f"Cia. Açucareira {place}"
    if fuel == "Resíduos Industriais":
        return f"Siderúrgica {place}"
    return f"UTE {place}" if roll < 0.5 else f"Termo {place}"


def _modalidade(kind: str, rng: np.random.Generator) -> str:
    roll = rng.random()
    if kind == "H":
        return (
            "TIPO I"
            if roll < 0.45
            else "TIPO II-A"
            if roll < 0.6
            else ("TIPO III" if roll < 0.9 else "Pequenas Usinas (Tipo III)")
        )
    if kind == "T":
        return (
            "TIPO I"
            if roll < 0.45
            else "TIPO II-A"
            if roll < 0.7
            else (
                "TIPO II-B"
                if roll < 0.82
                else "TIPO II-C"
                if roll < 0.88
                else "TIPO III"
                if roll < 0.96
                else "Pequenas Usinas (Tipo III)"
            )
        )
    return (
        "Conjunto de Usinas"
        if roll < 0.8
        else "TIPO I"
        if roll < 0.88
        else ("TIPO II-B" if roll < 0.95 else "TIPO II-C")
    )


@cache
def plant_catalogue() -> PlantCatalogue:
    """The fixed, deterministic catalogue of ~530 plants (independent of any seed)."""
    rng = np.random.default_rng(20_190_217)
    rows: list[dict[str, object]] = []
    names: set[str] = set()
    ids: set[str] = set()
    ceg_numbers: set[int] = set()
    for line in _ANCHORS.strip().splitlines():
        uf, mod, kind, fuel, name, id_ons, ceg, mw = line.split("|")
        rows.append(
            dict(uf=uf, mod=mod, kind=kind, fuel=fuel, name=name, id=id_ons, ceg=ceg, mw=float(mw))
        )
        names.add(name)
        ids.add(id_ons)
    for (sub, kind), (count, total_mw) in _FLEET.items():
        existing = [r for r in rows if _STATE_SUB[str(r["uf"])] == sub and r["kind"] == kind]
        missing = count - len(existing)
        remaining_mw = max(total_mw - sum(float(str(r["mw"])) for r in existing), 50.0 * missing)
        sizes = rng.lognormal(0.0, 0.8, missing)
        sizes = sizes / sizes.sum() * remaining_mw
        states = list(_RENEWABLE_STATES.get((sub, kind), _STATES[sub]))
        places = _PLACES[sub]
        for size in sizes:
            uf = states[rng.integers(len(states))]
            mod = _modalidade(kind, rng)
            fuel = {"H": "Hidráulica", "W": "Eólica", "S": "Fotovoltaica", "U": "Nuclear"}.get(
                kind
            ) or str(rng.choice(_FUELS, p=_FUEL_P))
            base = _plant_name(kind, mod, fuel, places[rng.integers(len(places))], rng)
            name = base
            for numeral in _ROMAN[1:]:
                if name not in names:
                    break
                name = f"{base} {numeral}"
            names.add(name)
            prefix = (
                "CJU_"
                if mod == "Conjunto de Usinas"
                else ("PQU_" if mod.startswith("Pequenas") else "")
            )
            stem = f"{prefix}{uf}{_abbreviation(name)}"[:10]
            id_ons, n = stem, 1
            while id_ons in ids:
                n += 1
                id_ons = f"{stem[:9]}{n}" if n < 10 else f"{stem[:8]}{n}"
            ids.add(id_ons)
            if prefix:
                ceg = "-"
            else:
                number = int(rng.integers(1, 60_000))
                while number in ceg_numbers:
                    number = int(rng.integers(1, 60_000))
                ceg_numbers.add(number)
                cls = {
                    "H": "UHE" if size > 30 else "PCH",
                    "T": "UTE",
                    "U": "UTN",
                    "W": "EOL",
                    "S": "UFV",
                }[kind]
                digit = (
                    sum(
                        int(c) * w for c, w in zip(f"{number:06d}", (7, 6, 5, 4, 3, 2), strict=True)
                    )
                    % 10
                )
                ceg = f"{cls}.{_FUEL_CEG[fuel]}.{uf}.{number:06d}-{digit}.01"
            rows.append(
                dict(
                    uf=uf,
                    mod=mod,
                    kind=kind,
                    fuel=fuel,
                    name=name,
                    id=id_ons,
                    ceg=ceg,
                    mw=round(float(size), 1),
                )
            )
    site = rng.uniform(0.8, 1.2, len(rows))
    jitter = rng.uniform(0.7, 1.3, len(rows))

    def sort_key(i: int) -> tuple[str, ...]:
        r = rows[i]
        uf = str(r["uf"])
        sub = _STATE_SUB[uf]
        return (
            sub,
            _NAMES[sub],
            uf,
            _STATES[sub][uf],
            str(r["mod"]),
            _KIND_TYPE[str(r["kind"])],
            str(r["fuel"]),
            str(r["name"]),
            str(r["id"]),
            str(r["ceg"]),
        )

    order = sorted(range(len(rows)), key=sort_key)
    keys = [sort_key(i) for i in order]
    tags = pa.table(
        {name: pa.array([k[j] for k in keys], pa.string()) for j, name in enumerate(PLANT_TAGS)}
    )
    fuels = np.array([rows[i]["fuel"] for i in order], dtype=object)
    return PlantCatalogue(
        tags=tags,
        subsystem=np.array([_SUB_INDEX[k[0]] for k in keys], dtype=np.int64),
        kind=np.array([rows[i]["kind"] for i in order]),
        fuel=fuels,
        capacity_mw=np.array([float(str(rows[i]["mw"])) for i in order]),
        site=site[order],
        dispatch=np.array([_DISPATCH.get(str(f), 0.0) for f in fuels]) * jitter[order],
    )


# --- the simulated system of one local day ----------------------------------------------------


@dataclass(frozen=True)
class _SystemDay:
    """Hourly state of the SIN over one local day; MW values are integers of 1e-3 MW."""

    times: np.ndarray  # (H,) UTC ns
    load: np.ndarray  # (4, H)
    hydro: np.ndarray  # (4, H)
    thermal: np.ndarray  # (4, H) nuclear included, as in the ONS balanço
    nuclear: np.ndarray  # (4, H)
    wind: np.ndarray  # (4, H)
    solar: np.ndarray  # (4, H)
    flows: np.ndarray  # (4 pairs, H)
    flows_scheduled: np.ndarray  # (4 pairs, H)
    plants: np.ndarray  # (P, H)

    @property
    def interchange(self) -> np.ndarray:
        """Net export per subsystem (4, H): generation − load."""
        return self.hydro + self.thermal + self.wind + self.solar - self.load


def _day_type(day: date) -> int:
    if (day.month, day.day) in _HOLIDAYS or day.weekday() == 6:
        return 2
    return 1 if day.weekday() == 5 else 0


def _load_shape(local_hour: np.ndarray, day: date) -> np.ndarray:
    """Relative load at fractional local clock hours (mean about 1 on working days)."""
    shape = np.interp(local_hour, np.arange(25), np.append(_WEEKDAY_SHAPE, _WEEKDAY_SHAPE[0]))
    kind = _day_type(day)
    if kind == 1:
        return 0.93 * (1 + 0.7 * (shape - 1))
    if kind == 2:
        return 0.85 * (1 + 0.5 * (shape - 1))
    return shape


def _local_hours(times: np.ndarray) -> np.ndarray:
    local = ons_time.utc_ns_to_local_ns(times)
    return np.mod(local, DAY_NS) / HOUR_NS


def _irradiance(mid_utc_ns: np.ndarray, day: date) -> np.ndarray:
    """Clear-sky irradiance per subsystem (4, H) in [0, 1]; exactly 0 at night."""
    utc_hour = np.mod(mid_utc_ns, DAY_NS) / HOUR_NS
    solar_time = utc_hour[None, :] + _LONGITUDE[:, None] / 15.0
    hour_angle = np.radians(15.0 * (solar_time - 12.0))
    declination = np.radians(-23.44 * _season(day, -10.0))
    lat = _LATITUDE[:, None]
    sin_elevation = np.sin(lat) * np.sin(declination) + np.cos(lat) * np.cos(declination) * np.cos(
        hour_angle
    )
    return np.where(sin_elevation > 0.05, np.clip(sin_elevation, 0, 1) ** 1.25, 0.0)


def _milli(values: np.ndarray) -> np.ndarray:
    return np.rint(values * 1000.0).astype(np.int64)


def _fill(total: np.ndarray, weights: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """Split totals (H,) by weights (n,), moving what exceeds ``limits`` (n,) to the others."""
    parts = (weights / weights.sum())[:, None] * np.asarray(total, dtype=float)[None, :]
    for _ in range(4):
        over = np.clip(parts - limits[:, None], 0, None)
        parts -= over
        room = np.clip(limits[:, None] - parts, 0, None)
        parts += over.sum(axis=0) * room / np.maximum(room.sum(axis=0), 1e-9)
    return parts


def _allocate(total: np.ndarray, weights: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """``_fill`` in integers (n, H) that sum exactly to the integer totals (H,)."""
    parts = np.floor(_fill(total, weights, limits)).astype(np.int64)
    room = limits[:, None] - parts
    parts[np.argmax(room, axis=0), np.arange(total.size)] += total - parts.sum(axis=0)
    return parts


@lru_cache(maxsize=8)
def _system_day(seed: int, day: date) -> _SystemDay:
    rng = _rng(seed, "system", day.isoformat())
    cat = plant_catalogue()
    times = ons_time.local_grid_utc_ns(day, timedelta(hours=1))
    hours = times.size
    local_hour = _local_hours(times) + 0.5
    growth = _growth(day)
    wet = _wetness(seed, day)
    shape = _load_shape(local_hour, day)
    seasonal = 1 + np.array([0.02, 0.02, 0.05, 0.05]) * _season(day, [300, 300, 40, 40])
    level = _LOAD_MW * growth * seasonal * np.exp(rng.normal(0, 0.02, 4))
    load = level[:, None] * shape[None, :] * (1 + rng.normal(0, 0.006, (4, hours)))

    plants = len(cat)
    capacity = cat.capacity_mw * growth
    onehot = (cat.subsystem[None, :] == np.arange(4)[:, None]).astype(np.int64)  # (4, P)
    # Wind: seasonal (NE peaks Aug–Oct) and diurnal (NE/N blow at night), plant noise.
    wind_season = np.array([0.36, 0.40, 0.33, 0.30]) + np.array([0.14, 0.15, 0.05, 0.0]) * _season(
        day, [260, 260, 300, 0]
    )
    diurnal = 1 + np.array([0.18, 0.18, 0.08, 0.0])[:, None] * np.cos(
        2 * np.pi * (local_hour[None, :] - np.array([1.0, 1.0, 15.0, 0.0])[:, None]) / 24
    )
    regional_wind = wind_season[:, None] * diurnal * np.exp(rng.normal(0, 0.25, 4))[:, None]
    wind_cf = (
        regional_wind[cat.subsystem]
        * cat.site[:, None]
        * np.exp(rng.normal(0, 0.12, (plants, hours)))
    )
    wind = np.clip(wind_cf, 0, 0.95) * capacity[:, None]
    # Solar: a daylight bell, exactly 0 at night, with per-plant clouds.
    irradiance = _irradiance(times + HOUR_NS // 2, day)[cat.subsystem]
    clear = rng.uniform(0.55, 1.0, plants)[:, None] * np.exp(rng.normal(0, 0.05, (plants, hours)))
    solar = np.where(irradiance > 0, irradiance * clear * 0.88 * cat.site[:, None], 0.0)
    solar = np.clip(solar, 0, 1) * capacity[:, None]
    # Thermal: dispatched more in the dry season; sugar-cane biomass in the harvest (Apr–Nov).
    dryness = 1 - wet[_SUB_INDEX["SE"]]
    harvest = 1.4 if 4 <= day.month <= 11 else 0.4
    propensity = cat.dispatch * np.where(cat.fuel == "Biomassa", harvest, 1.0)
    on = rng.random(plants) < np.clip(propensity * (0.5 + dryness), 0, 0.97)
    thermal = on[:, None] * rng.uniform(0.35, 0.95, plants)[:, None] * capacity[:, None]
    thermal = np.clip(thermal * (1 + rng.normal(0, 0.03, (plants, hours))), 0, capacity[:, None])
    # Nuclear: flat near full power, rare refuelling outages.
    running = rng.random(plants) >= 0.003
    nuclear = (
        running[:, None] * capacity[:, None] * 0.93 * (1 + rng.normal(0, 0.003, (plants, hours)))
    )

    kind = cat.kind[:, None]
    generation = np.where(kind == "W", wind, 0.0) + np.where(kind == "S", solar, 0.0)
    generation += np.where(kind == "T", thermal, 0.0) + np.where(kind == "U", nuclear, 0.0)
    plant_milli = _milli(generation)

    def total(kinds: tuple[str, ...]) -> np.ndarray:
        mask = np.isin(cat.kind, kinds)
        return onehot[:, mask] @ plant_milli[mask]

    load_m = _milli(load)
    thermal_m, nuclear_m = total(("T", "U")), total(("U",))
    wind_m, solar_m = total(("W",)), total(("S",))
    # Hydro closes the SIN balance; each subsystem offers a share that grows with wetness.
    is_hydro = cat.kind == "H"
    hydro_capacity = (onehot[:, is_hydro] @ capacity[is_hydro]) * 1000.0
    offer = hydro_capacity * (_HYDRO_BASE + _HYDRO_SLOPE * wet) * np.exp(rng.normal(0, 0.05, 4))
    rest = load_m - thermal_m - wind_m - solar_m
    needed = np.clip(rest.sum(axis=0), 0, None)
    hydro_m = _allocate(needed, offer, _HYDRO_MAX_USE * hydro_capacity)
    n, ne, s = (_SUB_INDEX[k] for k in ("N", "NE", "S"))
    net = hydro_m - rest
    north_to_ne = _milli((0.35 * net[n] + rng.normal(0, 800_000)) / 1000.0)
    flows = np.stack([north_to_ne, net[n] - north_to_ne, net[ne] + north_to_ne, -net[s]])
    scheduled = _milli(
        (flows * (1 + rng.normal(0, 0.03, flows.shape)) + rng.normal(0, 30_000, flows.shape))
        / 1000.0
    )
    weights = capacity * rng.uniform(0.6, 1.2, plants)
    for sub in range(4):
        members = np.flatnonzero(is_hydro & (cat.subsystem == sub))
        limits = 0.98 * capacity[members] * 1000.0
        plant_milli[members] = _allocate(hydro_m[sub], weights[members], limits)
    state = _SystemDay(
        times, load_m, hydro_m, thermal_m, nuclear_m, wind_m, solar_m, flows, scheduled, plant_milli
    )
    for value in vars(state).values():
        value.setflags(write=False)
    return state


def _ear_percent(seed: int, day: date) -> np.ndarray:
    """Stored energy per subsystem, percent of the maximum: highest after the wet season."""
    anomaly = np.array([_smooth(seed, f"ear-{s}", day) for s in SUBSYSTEMS])
    seasonal = _EAR_MID + _EAR_AMPLITUDE * _season(day, _EAR_PEAK_DOY)
    return np.clip(seasonal + 14.0 * anomaly, 4.0, 98.0)


# --- per-table dense day ----------------------------------------------------------------------


@dataclass
class _Dense:
    """One generation day of a table: every (instant, series) cell, NULLs included."""

    spec: TableSpec
    times: np.ndarray  # (H,) UTC ns
    series: dict[str, pa.Array]  # tag -> (S,), series sorted by the tags
    values: dict[str, np.ndarray]  # field -> (H, S) integers of 1e-8
    nulls: dict[str, np.ndarray]  # field -> (H, S)
    row_tags: dict[str, pa.Array] = field(default_factory=dict)  # tag -> (H*S,)

    @property
    def n_series(self) -> int:
        return len(next(iter(self.series.values())))


def _subsystem_series(names: Mapping[str, str], ids: Iterable[str]) -> dict[str, pa.Array]:
    ids = list(ids)
    return {
        "id_subsistema": pa.array(ids, pa.string()),
        "nom_subsistema": pa.array([names[i] for i in ids], pa.string()),
    }


def _ons_values(
    milli_by_field: Mapping[str, np.ndarray],
    rng: np.random.Generator,
    null_rate: float,
    scale: Mapping[str, int] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(H, S) integers (1e-3 or ``scale`` units) → 1e-8 units with artefacts, and NULL masks."""
    values: dict[str, np.ndarray] = {}
    nulls: dict[str, np.ndarray] = {}
    for name, data in milli_by_field.items():
        units = (scale or {}).get(name, 1000)
        m = np.asarray(data, dtype=np.int64) * (UNITS_PER_ONE // units)
        artefact = (rng.random(m.shape) < ARTEFACT_RATE) & (m != 0)
        values[name] = m - np.sign(m) * artefact
        nulls[name] = rng.random(m.shape) < null_rate
    return values, nulls


def _dense_ons(table: str, day: date, seed: int, null_rate: float) -> _Dense:
    spec = table_spec(table)
    rng = _rng(seed, table, day.isoformat())
    system = _system_day(seed, day)
    subs = list(SUBSYSTEMS)
    day_start = np.array([ons_time.to_ns(ons_time.local_day_start_utc(day))], dtype=np.int64)
    if table == "curva_carga":
        values, nulls = _ons_values({"val_cargaenergiahomwmed": system.load.T}, rng, null_rate)
        return _Dense(spec, system.times, _subsystem_series(_NAMES, subs), values, nulls)
    if table == "balanco_subsistema":
        parts = [
            system.hydro,
            system.thermal,
            system.wind,
            system.solar,
            system.load,
            system.interchange,
        ]
        data = {
            name: np.vstack([p, p.sum(axis=0)]).T
            for name, p in zip(spec.field_names, parts, strict=True)
        }
        values, nulls = _ons_values(data, rng, null_rate)
        series = _subsystem_series(_BALANCO_NAMES, [*subs, "SIN"])
        return _Dense(spec, system.times, series, values, nulls)
    if table == "intercambio":
        series = {
            "id_subsistema_origem": pa.array([o for o, _ in PAIRS]),
            "nom_subsistema_origem": pa.array([_NAMES[o] for o, _ in PAIRS]),
            "id_subsistema_destino": pa.array([d for _, d in PAIRS]),
            "nom_subsistema_destino": pa.array([_NAMES[d] for _, d in PAIRS]),
        }
        data = {
            "val_intercambiomwmed": system.flows.T,
            "val_intercambioprogmwmed": system.flows_scheduled.T,
        }
        values, nulls = _ons_values(data, rng, null_rate)
        return _Dense(spec, system.times, series, values, nulls)
    if table == "geracao_usina":
        cat = plant_catalogue()
        series = {name: cat.tags.column(name).combine_chunks() for name in PLANT_TAGS}
        values, nulls = _ons_values({"val_geracao": system.plants.T}, rng, null_rate)
        return _Dense(spec, system.times, series, values, nulls)
    if table == "cmo_semihorario":
        return _dense_cmo(spec, day, seed, rng, null_rate)
    if table == "ear_diario":
        percent = _ear_percent(seed, day) + rng.normal(0, 0.1, 4)
        maximum = _milli(_EAR_MAX)
        stored = _milli(np.clip(percent, 1, 99) / 100 * _EAR_MAX)
        exact = np.rint(stored / maximum * 100 * 1000).astype(np.int64)
        data = {
            "ear_max_subsistema": maximum[None, :],
            "ear_verif_subsistema_mwmes": stored[None, :],
            "ear_verif_subsistema_percentual": exact[None, :],
        }
        values, nulls = _ons_values(data, rng, null_rate)
        return _Dense(spec, day_start, _subsystem_series(_NAMES, subs), values, nulls)
    if table == "ena_diario":
        anomaly = np.array([_smooth(seed, f"ena-{s}", day) for s in SUBSYSTEMS])
        percent = 100 * np.exp(0.35 * anomaly + rng.normal(0, 0.07, 4))
        mlt = _ENA_MLT[:, day.month - 1]
        gross = _milli(mlt * percent / 100)
        storable = _milli(gross / 1000 * rng.uniform(0.88, 0.99, 4))
        gross_pct = np.rint(gross / 1000 / mlt * 100 * 10_000).astype(np.int64)
        storable_pct = np.rint(
            storable / 1000 / (mlt * _ENA_STORABLE_MLT_SHARE) * 100 * 10_000
        ).astype(np.int64)
        data = {
            "ena_bruta_regiao_mwmed": gross[None, :],
            "ena_bruta_regiao_percentualmlt": gross_pct[None, :],
            "ena_armazenavel_regiao_mwmed": storable[None, :],
            "ena_armazenavel_regiao_percentualmlt": storable_pct[None, :],
        }
        scale = {
            "ena_bruta_regiao_percentualmlt": 10_000,
            "ena_armazenavel_regiao_percentualmlt": 10_000,
        }
        values, nulls = _ons_values(data, rng, null_rate, scale)
        return _Dense(spec, day_start, _subsystem_series(_NAMES, subs), values, nulls)
    raise ValueError(f"no generator for ONS table {table!r}")


def _dense_cmo(
    spec: TableSpec, day: date, seed: int, rng: np.random.Generator, null_rate: float
) -> _Dense:
    """Marginal cost (R$/MWh): high when reservoirs are low, near 0 (rarely < 0) when wet."""
    times = ons_time.local_grid_utc_ns(day, timedelta(minutes=30))
    shape = _load_shape(_local_hours(times) + 0.25, day)
    se = _SUB_INDEX["SE"]
    stress = 1 - _ear_percent(seed, day)[se] / 100
    dryness = 1 - _wetness(seed, day)[se]
    base_se = (15 + 650 * stress**2.2) * np.exp(rng.normal(0, 0.35)) * (0.6 + 0.8 * dryness)
    if dryness < 0.25 and rng.random() < 0.5:
        base_se = rng.uniform(0, 8)
    ratio = np.array(
        [
            rng.uniform(0.5, 1.0),
            rng.uniform(0.4, 1.0),
            1.0 if rng.random() < 0.8 else rng.uniform(0.6, 1.3),
            1.0,
        ]
    )
    base = base_se * ratio
    cost = (
        base[None, :]
        * (1 + 0.35 * (shape[:, None] - 1))
        * (1 + rng.normal(0, 0.02, (times.size, 4)))
    )
    negative_day = rng.random(4) < 0.03
    cost = np.where(
        negative_day[None, :], cost + rng.normal(-2, 2.5, cost.shape), np.clip(cost, 0, None)
    )
    cents = np.rint(np.clip(cost, -50, 1500) * 100).astype(np.int64)
    values, nulls = _ons_values({"val_cmo": cents}, rng, null_rate, {"val_cmo": 100})
    return _Dense(spec, times, _subsystem_series(_NAMES, SUBSYSTEMS), values, nulls)


def _dense_legacy(table: str, day: date, seed: int) -> _Dense:
    """One UTC day of a legacy table, from the two local system days that cover it."""
    spec = table_spec(table)
    rng = _rng(seed, table, day.isoformat())
    days = [_system_day(seed, day - timedelta(days=1)), _system_day(seed, day)]
    start, _ = ons_time.utc_day_bounds(day)
    start_ns = ons_time.to_ns(start)
    times = np.concatenate([d.times for d in days])
    keep = (times >= start_ns) & (times < start_ns + DAY_NS)

    def hourly(attribute: str) -> np.ndarray:
        return np.concatenate([getattr(d, attribute) for d in days], axis=1)[:, keep]

    hours = int(keep.sum())
    rows: list[tuple[str, ...]] = []
    columns: list[np.ndarray] = []
    dataset = _LEGACY_DATASET[table]
    third = next(
        t
        for t in spec.tags
        if t not in ("region", "dataset_type", "measurement_type", "quality_flag")
    )
    if table == "generation_data":
        thermal = hourly("thermal") - hourly("nuclear")
        by_source = {
            "hydro": hourly("hydro"),
            "nuclear": hourly("nuclear"),
            "solar": hourly("solar"),
            "thermal": thermal,
            "wind": hourly("wind"),
        }
        for sub in sorted(SUBSYSTEMS, key=_REGIONS.__getitem__):
            for source in _ENERGY_SOURCES:
                series = by_source[source][_SUB_INDEX[sub]]
                if source == "nuclear" and sub != "SE":  # Angra is the only nuclear plant
                    continue
                rows.append((_REGIONS[sub], source))
                columns.append(series)
    elif table == "consumption_data":
        load = hourly("load")
        local_hour = _local_hours(times[keep]) + 0.5
        evening = np.exp(-(((local_hour - 20.0) / 3.0) ** 2))
        daytime = np.exp(-(((local_hour - 14.0) / 4.0) ** 2))
        shares = {"residential": 0.28 + 0.12 * evening, "commercial": 0.18 + 0.1 * daytime}
        for sub in sorted(SUBSYSTEMS, key=_REGIONS.__getitem__):
            region_load = load[_SUB_INDEX[sub]]
            residential = _milli(region_load * shares["residential"] / 1000)
            commercial = _milli(region_load * shares["commercial"] / 1000)
            split = {
                "commercial": commercial,
                "industrial": region_load - residential - commercial,
                "residential": residential,
            }
            for consumer in _CONSUMER_TYPES:
                rows.append((_REGIONS[sub], consumer))
                columns.append(split[consumer])
    elif table == "transmission_data":
        flows = hourly("flows")
        for index, (origin, destination) in enumerate(PAIRS):
            rows.append((_REGIONS[origin], f"{origin}-{destination}"))
            columns.append(flows[index])
    else:
        raise ValueError(f"no generator for legacy table {table!r}")
    verified = np.stack(columns, axis=1)  # (H, n)
    noise = 1 + rng.normal(0, 0.03, verified.shape)
    scheduled = np.rint(verified * noise).astype(np.int64)
    if table != "transmission_data":
        scheduled = np.clip(scheduled, 0, None)
    series_rows = [
        (region, dataset, key, kind) for region, key in rows for kind in _MEASUREMENT_TYPES
    ]
    milli = np.stack([scheduled, verified], axis=2).reshape(hours, -1)
    tags = ("region", "dataset_type", third, "measurement_type")
    series = {t: pa.array([r[i] for r in series_rows], pa.string()) for i, t in enumerate(tags)}
    n = len(series_rows)
    flags = rng.choice(
        len(_QUALITY_FLAGS) + 1, size=hours * n, p=[*_QUALITY_P, 1 - sum(_QUALITY_P)]
    )
    flag_array = pa.array(
        np.array([*_QUALITY_FLAGS, ""], dtype=object)[flags],
        pa.string(),
        mask=flags == len(_QUALITY_FLAGS),
    )
    offsets_ms = rng.integers(1, 1000, hours)  # the platform stamped rows with milliseconds
    stamp = times[keep] + offsets_ms * 1_000_000
    values = {"value": milli * (UNITS_PER_ONE // 1000)}
    nulls = {"value": np.zeros(milli.shape, dtype=bool)}
    return _Dense(spec, stamp, series, values, nulls, {"quality_flag": flag_array})


def _dense(table: str, day: date, seed: int, null_rate: float) -> _Dense:
    if table_spec(table).source is Source.LEGACY:
        return _dense_legacy(table, day, seed)
    return _dense_ons(table, day, seed, null_rate)


def _canonical(dense: _Dense, first: int, last: int) -> pa.Table:
    """Rows of instants ``[first, last)`` as a canonical table (all-NULL rows dropped)."""
    spec = dense.spec
    n = dense.n_series
    hours = last - first
    series_index = pa.array(np.tile(np.arange(n), hours))
    arrays: list[pa.Array] = [pa.array(np.repeat(dense.times[first:last], n), ons_time.UTC_NS)]
    for tag in spec.tags:
        if tag in dense.row_tags:
            arrays.append(dense.row_tags[tag][first * n : last * n])
        else:
            arrays.append(dense.series[tag].take(series_index))
    all_null = np.ones(hours * n, dtype=bool)
    for name in spec.field_names:
        mask = dense.nulls[name][first:last].ravel()
        values = dense.values[name][first:last].ravel() / UNITS_PER_ONE
        arrays.append(pa.array(values, pa.float64(), mask=mask))
        all_null &= mask
    result = pa.Table.from_arrays(arrays, schema=spec.arrow_schema())
    if all_null.any():
        result = result.filter(pa.array(~all_null))
    return result


# --- public API: canonical --------------------------------------------------------------------


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def generation_days(table: str, start: datetime, end: datetime) -> list[date]:
    """Generation days overlapping ``[start, end)``: local days (ONS) or UTC days (legacy)."""
    start, end = _aware(start), _aware(end)
    if table_spec(table).source is Source.LEGACY:
        if end <= start:
            return []
        first = start.astimezone(UTC).date()
        last = (end.astimezone(UTC) - timedelta(microseconds=1)).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return ons_time.local_days(start, end)


def generate_canonical(
    table: str, start: datetime, end: datetime, seed: int = 0, *, null_rate: float = NULL_RATE
) -> Iterator[pa.Table]:
    """Canonical records with time in ``[start, end)``, one table per generation day.

    Naive datetimes are taken as UTC. Empty days are not yielded. Memory is bounded by one day.
    """
    start, end = _aware(start), _aware(end)
    start_ns, end_ns = ons_time.to_ns(start), ons_time.to_ns(end)
    for day in generation_days(table, start, end):
        dense = _dense(table, day, seed, null_rate)
        first, last = np.searchsorted(dense.times, [start_ns, end_ns], side="left")
        if last > first:
            result = _canonical(dense, int(first), int(last))
            if result.num_rows:
                yield result


def generate_day(table: str, day: date, seed: int = 0, *, null_rate: float = NULL_RATE) -> pa.Table:
    """All canonical records of one generation day (local day for ONS, UTC day for legacy)."""
    dense = _dense(table, day, seed, null_rate)
    return _canonical(dense, 0, dense.times.size)


# --- public API: raw ONS files ----------------------------------------------------------------


def raw_columns(table: str, *, header_typo: bool = False) -> list[str]:
    """The ONS file's column names, in the file's order."""
    spec = table_spec(table)
    if spec.source is not Source.ONS or spec.raw_time_column is None:
        raise ValueError(f"table {table!r} is not an ONS dataset")
    tags = list(spec.tags)
    columns = (
        [spec.raw_time_column, *tags]
        if table in _TIME_FIRST
        else [*tags[:2], spec.raw_time_column, *tags[2:]]
    ) + list(spec.field_names)
    if header_typo:
        typos = {canonical: typo for typo, canonical in spec.raw_renames.items()}
        columns = [typos.get(c, c) for c in columns]
    return columns


def render_numbers(units: np.ndarray, nulls: np.ndarray, style: NumberStyle) -> pa.StringArray:
    """Integers of 1e-8 → strings as ONS writes them; NULL → empty string.

    ``fixed8``: ``4828.07250000``, zero as ``0E-8``; ``shortest``: Python's repr (``2699.626``,
    ``110.0``); ``float32``: the float32 value with 8 decimals, trailing zeros stripped
    (``51691.2265625``, ``92.709198``).
    """
    units = np.asarray(units, dtype=np.int64)
    if style == "fixed8":
        magnitude = np.abs(units)
        whole = pc.cast(pa.array(magnitude // UNITS_PER_ONE), pa.string())
        fraction = pc.utf8_lpad(pc.cast(pa.array(magnitude % UNITS_PER_ONE), pa.string()), 8, "0")
        sign = pa.array(np.where(units < 0, "-", ""), pa.string())
        text = pc.binary_join_element_wise(
            pc.binary_join_element_wise(sign, whole, ""), fraction, "."
        )
        text = pc.if_else(pa.array(units == 0), "0E-8", text)
    elif style == "shortest":
        text = pa.array([repr(v) for v in (units / UNITS_PER_ONE).tolist()], pa.string())
    elif style == "float32":
        widened = (units / UNITS_PER_ONE).astype(np.float32).astype(np.float64).tolist()
        rendered = (f"{v:.8f}".rstrip("0") for v in widened)
        text = pa.array([s + "0" if s.endswith(".") else s for s in rendered], pa.string())
    else:
        raise ValueError(f"unknown number style {style!r}; use 'fixed8', 'shortest' or 'float32'")
    return pc.if_else(pa.array(np.asarray(nulls, dtype=bool)), "", text)


def generate_raw_ons(
    table: str,
    local_day: date,
    seed: int = 0,
    *,
    number_style: NumberStyle | Mapping[str, NumberStyle] = "fixed8",
    dst_gap: DstGap = "absent",
    repeated_hour: RepeatedHour = "drop",
    padded_codes: bool = False,
    header_typo: bool = False,
    daily_time: bool = False,
    null_rate: float = NULL_RATE,
) -> pa.Table:
    """One local day of an ONS dataset as ONS publishes it: all columns strings.

    ``number_style``: one style, or a style per value column (others ``fixed8``).
    ``dst_gap='empty'``: the nonexistent spring-forward hour is written with empty values (ONS
    2014–2017); ``'absent'``: not written (2000–2013). ``repeated_hour='drop'`` writes the
    fall-back hour once (ONS); ``'repeat'`` writes both occurrences with the same label.
    ``padded_codes``: about 10 % of rows have their ``id_*`` codes right-padded with spaces.
    ``header_typo``: known header typos (``id_subsistena`` in balanço). ``daily_time``: daily
    dates written ``YYYY-MM-DD 00:00:00``.
    """
    spec = table_spec(table)
    columns = raw_columns(table)  # validates the table
    dense = _dense_ons(table, local_day, seed, null_rate)
    n = dense.n_series
    daily = spec.grain >= timedelta(days=1)
    ids = dense.series["id_subsistema"].to_pylist() if "id_subsistema" in dense.series else []
    order = np.array(
        [ids.index(s) for s in _ONS_ROW_ORDER[table]] if table in _ONS_ROW_ORDER else range(n),
        dtype=np.int64,
    )
    if daily:
        slot_instant = [0]
        slot_label = [local_day.isoformat() + (" 00:00:00" if daily_time else "")]
    else:
        slot_instant, slot_label = _slots(
            dense.times, local_day, spec.grain, dst_gap, repeated_hour
        )
    slots = len(slot_label)
    instant = np.repeat(np.array(slot_instant, dtype=np.int64), order.size)
    series = np.tile(order, slots)
    gap = instant < 0
    flat = np.where(gap, 0, instant) * n + series
    result: dict[str, pa.Array] = {
        spec.raw_time_column or "din_instante": pa.array(slot_label, pa.string()).take(
            pa.array(np.repeat(np.arange(slots), order.size))
        )
    }
    rng = _rng(seed, table, local_day.isoformat(), "raw")
    padded = rng.random(instant.size) < 0.1 if padded_codes else np.zeros(instant.size, bool)
    for tag in spec.tags:
        values = dense.series[tag].take(pa.array(series))
        if tag.startswith("id_") and padded.any():
            values = pc.if_else(pa.array(padded), pc.utf8_rpad(values, 12, " "), values)
        result[tag] = values
    styles = (
        {name: number_style for name in spec.field_names}
        if isinstance(number_style, str)
        else {name: number_style.get(name, "fixed8") for name in spec.field_names}
    )
    for name in spec.field_names:
        units = dense.values[name].ravel()[flat]
        nulls = dense.nulls[name].ravel()[flat] | gap
        result[name] = render_numbers(units, nulls, styles[name])
    header = raw_columns(table, header_typo=header_typo)
    return pa.Table.from_arrays([result[c] for c in columns], names=header)


def _slots(
    times: np.ndarray, day: date, grain: timedelta, dst_gap: DstGap, repeated_hour: RepeatedHour
) -> tuple[list[int], list[str]]:
    """Rows of a raw day: (instant index or -1 for a nonexistent label, local label)."""
    step_ns = int(grain.total_seconds()) * ons_time.NS_PER_SECOND
    midnight = (day - date(1970, 1, 1)).days * DAY_NS
    grid = midnight + np.arange(DAY_NS // step_ns, dtype=np.int64) * step_ns
    _, nonexistent, _ = ons_time.local_ns_to_utc_ns(grid)
    labels = pc.cast(
        pa.array(grid // ons_time.NS_PER_SECOND, pa.timestamp("s")), pa.string()
    ).to_pylist()
    by_label: dict[str, list[int]] = {}
    for index, label in enumerate(ons_time.format_local(times).to_pylist()):
        by_label.setdefault(label, []).append(index)
    instants: list[int] = []
    names: list[str] = []
    for label, missing in zip(labels, nonexistent.tolist(), strict=True):
        if missing:
            if dst_gap == "empty":
                instants.append(-1)
                names.append(label)
            continue
        found = by_label.get(label, [])
        for index in found if repeated_hour == "repeat" else found[:1]:
            instants.append(index)
            names.append(label)
    return instants, names


def to_typed_ons(raw: pa.Table, table: str) -> pa.Table:
    """A raw (string) ONS table → typed columns as in ONS Parquet files.

    The time column becomes a naive local ``timestamp[ns]``, values ``float64`` (empty → NULL);
    codes and names stay strings, as written.
    """
    spec = table_spec(table)
    arrays = []
    for name, column in zip(raw.column_names, raw.columns, strict=True):
        text = pc.cast(column, pa.string())
        if name == spec.raw_time_column:
            padded = pc.if_else(
                pc.equal(pc.utf8_length(text), 10),
                pc.binary_join_element_wise(text, "00:00:00", " "),
                text,
            )
            arrays.append(
                pc.cast(
                    pc.strptime(padded, format=ons_time.LOCAL_FORMAT, unit="s"), pa.timestamp("ns")
                )
            )
        elif name in spec.field_names:
            blank = pc.equal(text, "")
            arrays.append(
                pc.cast(pc.if_else(blank, pa.scalar(None, pa.string()), text), pa.float64())
            )
        else:
            arrays.append(text)
    return pa.Table.from_arrays(arrays, names=raw.column_names)


# --- writers ----------------------------------------------------------------------------------

_FORBIDDEN = "[;\r\n]"


def write_ons_csv(tables: Iterable[pa.Table], path: str | Path, *, crlf: bool = False) -> int:
    """Write tables as one ONS CSV (``;``, UTF-8, no quoting, LF or CRLF); returns data rows.

    NULL is written as an empty field. Raises ``ValueError`` if a value holds ``;`` or a line
    break, or if the tables' columns differ.
    """
    eol = "\r\n" if crlf else "\n"
    header: list[str] | None = None
    rows = 0
    with open(path, "wb") as out:
        for chunk in tables:
            if header is None:
                header = chunk.column_names
                out.write((";".join(header) + eol).encode("utf-8"))
            elif chunk.column_names != header:
                raise ValueError(f"columns {chunk.column_names} differ from {header}")
            if not chunk.num_rows:
                continue
            cells = [pc.fill_null(pc.cast(c, pa.string()), "") for c in chunk.columns]
            for name, cell in zip(header, cells, strict=True):
                if pc.any(pc.match_substring_regex(cell, _FORBIDDEN)).as_py():
                    raise ValueError(f"column {name!r} holds ';' or a line break")
            lines = pc.binary_join_element_wise(*cells, ";").to_pylist()
            out.write((eol.join(lines) + eol).encode("utf-8"))
            rows += chunk.num_rows
    return rows


def write_ons_parquet(
    tables: Iterable[pa.Table], path: str | Path, *, table: str | None = None
) -> int:
    """Write tables as one Parquet file; with ``table``, typed as ONS Parquet (``to_typed_ons``).

    Returns data rows. Nothing is written when ``tables`` is empty.
    """
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for chunk in tables:
            if table is not None:
                chunk = to_typed_ons(chunk, table)
            if writer is None:
                writer = pq.ParquetWriter(str(path), chunk.schema, compression="zstd")
            writer.write_table(chunk)
            rows += chunk.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows


def generate_ons_file(
    table: str,
    start_day: date,
    days: int,
    path: str | Path,
    fmt: Literal["csv", "parquet"] = "csv",
    seed: int = 0,
    *,
    crlf: bool = False,
    typed: bool = True,
    **raw_options: object,
) -> int:
    """Write ``days`` local days of an ONS dataset to one file, day by day; returns data rows.

    ``raw_options`` go to ``generate_raw_ons``; ``typed`` applies to Parquet.
    """
    chunks = (
        generate_raw_ons(table, start_day + timedelta(days=i), seed, **raw_options)  # type: ignore[arg-type]
        for i in range(days)
    )
    if fmt == "csv":
        return write_ons_csv(chunks, path, crlf=crlf)
    if fmt == "parquet":
        return write_ons_parquet(chunks, path, table=table if typed else None)
    raise ValueError(f"unknown format {fmt!r}; use 'csv' or 'parquet'")
