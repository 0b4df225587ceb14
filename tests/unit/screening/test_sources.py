"""The list parsers on the real files, and on broken ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from riskloop.errors import InvalidInput
from riskloop.screening import Alias, EntityKind, ListEntry, load_ftm, load_ofac, load_path, load_un


def by_id(entries: list[ListEntry]) -> dict[str, ListEntry]:
    return {e.entry_id: e for e in entries}


# ------------------------------------------------------------------ OFAC


def test_ofac_reads_every_sdn_row_with_its_kind(ofac: list[ListEntry]) -> None:
    assert 8_000 <= len(ofac) <= 12_000
    kinds = {k: sum(e.kind is k for e in ofac) for k in EntityKind}
    assert kinds[EntityKind.PERSON] > 4_000
    assert kinds[EntityKind.ORGANIZATION] > 3_000
    assert kinds[EntityKind.VESSEL] > 300 and kinds[EntityKind.AIRCRAFT] > 200
    assert 20_000 <= sum(len(e.names) for e in ofac) <= 30_000
    assert all(e.source == "ofac_sdn" for e in ofac)


def test_ofac_banco_nacional_has_its_aliases_and_address_countries(ofac: list[ListEntry]) -> None:
    bnc = by_id(ofac)["306"]
    assert bnc.name == "BANCO NACIONAL DE CUBA"
    assert bnc.kind is EntityKind.ORGANIZATION
    assert Alias("NATIONAL BANK OF CUBA", "strong") in bnc.aliases
    assert Alias("BNC", "weak") in bnc.aliases  # the quoted a.k.a. of the remarks
    assert {"CH", "ES", "JP", "PA"} <= set(bnc.countries)
    assert bnc.programs == ("CUBA",)


def test_ofac_remarks_give_dates_countries_and_document_numbers(ofac: list[ListEntry]) -> None:
    e = by_id(ofac)["12300"]  # CIFUENTES VILLA, Jorge Milton
    assert e.kind is EntityKind.PERSON
    assert e.dates_of_birth == ("1965-05-13", "1968-04-13", "1964-07-07")
    assert {"CO", "MX"} <= set(e.countries)
    assert {"7548733", "AL720622", "CIVJ650513HNEFLR06", "1813011"} <= set(e.identifiers)
    # sdn_comments.csv continues the remarks cut in sdn.csv
    assert e.remarks.endswith("Linked To: R D I S.A.")
    assert Alias("OSUNA VILLARREAL, Sergio", "strong") in e.aliases


def test_ofac_programs_split_and_nationality_mapped(ofac: list[ListEntry]) -> None:
    e = by_id(ofac)["28264"]  # LI, Jiadong
    assert e.programs == ("DPRK3", "CYBER2")
    assert e.countries == ("CN",)
    assert e.dates_of_birth == ("1987-01-10",)
    assert "210302198701102136" in e.identifiers


def test_ofac_fka_is_a_weak_alias_and_vessels_keep_flag_and_call_sign(
    ofac: list[ListEntry],
) -> None:
    e = by_id(ofac)["4243"]  # SAND SWAN, f.k.a. 'ANA I'
    assert e.kind is EntityKind.VESSEL
    assert Alias("ANA I", "weak") in e.aliases
    assert "CY" in e.countries and "P3QG3" in e.identifiers


def test_ofac_dob_ranges_list_each_year(tmp_path: Path) -> None:
    sdn = tmp_path / "sdn.csv"
    sdn.write_text(
        '1,"DOE, John","individual","SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,'
        '"DOB circa 1970 to 1972; alt. DOB Mar 1980; citizen Korea, North."\n'
    )
    (e,) = load_ofac(sdn)
    assert e.dates_of_birth == ("1970", "1971", "1972", "1980-03")
    assert e.countries == ("KP",)


def test_ofac_reads_windows_1252_text(tmp_path: Path) -> None:
    sdn = tmp_path / "sdn.csv"
    row = '7,"NU\xd1EZ, Jos\xe9","individual","SDNTK",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
    sdn.write_bytes(row.encode("cp1252") + b"\x1a")  # and the DOS end-of-file mark
    (e,) = load_ofac(sdn)
    assert e.name == "NUÑEZ, José"


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        ('36,"AEROCARIBBEAN AIRLINES",-0- ,"CUBA"\n', 1, "expected 12 columns, got 4"),
        (
            '36,"A",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n'
            'x7,"B",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n',
            2,
            "ent_num 'x7' is not a number",
        ),
        ('36,"A","robot","CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n', 1, "unknown SDN_Type"),
        ('36,"BANCO NACIONAL DE CU', 1, "expected 12 columns, got 2"),  # truncated file
    ],
)
def test_ofac_bad_rows_name_file_and_line(
    tmp_path: Path, content: str, line: int, reason: str
) -> None:
    sdn = tmp_path / "sdn.csv"
    sdn.write_text(content)
    with pytest.raises(InvalidInput) as err:
        load_ofac(sdn)
    assert err.value.field == f"{sdn}:{line}"
    assert reason in err.value.reason


def test_ofac_unknown_alias_type_names_the_alt_file(tmp_path: Path) -> None:
    sdn, alt = tmp_path / "sdn.csv", tmp_path / "alt.csv"
    sdn.write_text('1,"A",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n')
    alt.write_text('1,2,"aka","B",-0- \n1,3,"xyz","C",-0- \n')
    with pytest.raises(InvalidInput) as err:
        load_ofac(sdn, alt=alt)
    assert err.value.field == f"{alt}:2" and "alt_type" in err.value.reason


# ------------------------------------------------------------------ UN


def test_un_reads_individuals_and_entities(un: list[ListEntry]) -> None:
    assert 900 <= len(un) <= 1_500
    assert sum(e.kind is EntityKind.PERSON for e in un) > 600
    assert sum(e.kind is EntityKind.ORGANIZATION for e in un) > 200
    e = by_id(un)["6907993"]
    assert e.name == "ERIC BADEGE"
    assert e.dates_of_birth == ("1971",)
    assert set(e.countries) == {"CD", "RW"}  # nationality, address
    assert e.programs == ("DRC",)


def test_un_keeps_original_script_documents_and_alias_quality(un: list[ListEntry]) -> None:
    entries = by_id(un)
    aziz = entries["6908072"]
    assert Alias("طارق عزيز") in aziz.aliases
    assert aziz.dates_of_birth == ("1936-07-01",) and aziz.identifiers == ("NO34409129",)
    adf = entries["6908402"]
    assert Alias("Allied Democratic Forces", "strong") in adf.aliases
    assert Alias("NALU", "weak") in adf.aliases  # f.k.a.
    ranged = [e for e in un if "1973" in e.dates_of_birth and "1974" in e.dates_of_birth]
    assert ranged  # FROM_YEAR 1973 TO_YEAR 1974


def test_un_malformed_xml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "un.xml"
    path.write_text(
        "<CONSOLIDATED_LIST>\n<INDIVIDUALS>\n<INDIVIDUAL><DATAID>1</DATAID>\n</INDIVIDUALS>"
    )
    with pytest.raises(InvalidInput) as err:
        load_un(path)
    assert err.value.field == f"{path}:4"
    assert "not well-formed" in err.value.reason


def test_un_record_without_a_name_is_named_by_its_number(tmp_path: Path) -> None:
    path = tmp_path / "un.xml"
    path.write_text(
        "<CONSOLIDATED_LIST><INDIVIDUALS>"
        "<INDIVIDUAL><DATAID>1</DATAID><FIRST_NAME>A</FIRST_NAME></INDIVIDUAL>"
        "<INDIVIDUAL><DATAID>2</DATAID></INDIVIDUAL>"
        "</INDIVIDUALS></CONSOLIDATED_LIST>"
    )
    with pytest.raises(InvalidInput) as err:
        load_un(path)
    assert err.value.field == f"{path}:record 2" and "no name" in err.value.reason


# ------------------------------------------------------------------ FollowTheMoney


def _ftm(path: Path, *objects: object) -> Path:
    path.write_text("\n".join(json.dumps(o) for o in objects) + "\n")
    return path


def test_ftm_reads_parties_and_skips_other_schemas(tmp_path: Path) -> None:
    path = _ftm(
        tmp_path / "entities.ftm.json",
        {
            "id": "Q7747",
            "schema": "Person",
            "properties": {
                "name": ["Vladimir Putin"],
                "alias": ["Владимир Путин"],
                "weakAlias": ["VVP"],
                "birthDate": ["1952-10-07"],
                "nationality": ["ru"],
                "passportNumber": ["AB 123-456"],
                "topics": ["sanction", "role.pep"],
            },
        },
        {"id": "s1", "schema": "Sanction", "properties": {"program": ["x"]}},
        {
            "id": "v1",
            "schema": "Vessel",
            "properties": {"name": ["SEA STAR 2"], "imoNumber": ["IMO 9187629"]},
        },
    )
    putin, vessel = load_ftm(path, source="os_test")
    assert putin == ListEntry(
        "os_test",
        "Q7747",
        EntityKind.PERSON,
        "Vladimir Putin",
        aliases=(Alias("Владимир Путин"), Alias("VVP", "weak")),
        dates_of_birth=("1952-10-07",),
        countries=("RU",),
        identifiers=("AB123456",),
        programs=("sanction", "role.pep"),
    )
    assert vessel.kind is EntityKind.VESSEL and vessel.identifiers == ("IMO9187629",)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"id": "x", "schema": "Person"', "not valid JSON"),
        (
            '{"id": "x", "schema": "Person", "properties": {"name": "A", "alias": [1]}}',
            "properties.alias",
        ),
        ('{"id": "x", "schema": "Person", "properties": {}}', "has no name"),
    ],
)
def test_ftm_bad_line_names_file_and_line(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "e.jsonl"
    good = json.dumps({"id": "a", "schema": "Company", "properties": {"name": ["ACME"]}})
    path.write_text(f"{good}\n\n{line}\n")
    with pytest.raises(InvalidInput) as err:
        load_ftm(path)
    assert err.value.field == f"{path}:3"
    assert reason in err.value.reason


# ------------------------------------------------------------------ load_path


@pytest.mark.parametrize("prefix", ["", "ofac_"])
def test_load_path_finds_ofac_files_in_either_naming(
    tmp_path: Path, data_dir: Path, prefix: str
) -> None:
    for part in ("sdn", "alt", "add", "sdn_comments"):
        shutil.copy(data_dir / f"ofac_{part}.csv", tmp_path / f"{prefix}{part}.csv")
    source, entries = load_path(tmp_path)
    assert source == "ofac_sdn"
    bnc = by_id(entries)["306"]
    assert "NATIONAL BANK OF CUBA" in bnc.names and bnc.countries  # alt and add were read


def test_load_path_detects_un_and_ftm_and_renames_the_source(
    tmp_path: Path, data_dir: Path
) -> None:
    source, entries = load_path(data_dir / "un_consolidated.xml", source="un_sc")
    assert source == "un_sc" and {e.source for e in entries} == {"un_sc"}
    path = _ftm(
        tmp_path / "x.jsonl", {"id": "a", "schema": "Company", "properties": {"name": ["ACME"]}}
    )
    assert load_path(path)[0] == "opensanctions"


@pytest.mark.parametrize("name", ["missing.xml", "list.txt"])
def test_load_path_rejects_what_it_cannot_read(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name.endswith(".txt"):
        path.write_text("x")
    with pytest.raises(InvalidInput) as err:
        load_path(path)
    assert err.value.field.startswith(str(path))
