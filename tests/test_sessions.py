from peerlab.sessions import cookie_header, session_id

# Computed with coreutils: printf _N | md5sum
KNOWN = {
    1: "5d98ec0427152056397e9e35f357be87",
    21: "51e59f599b771bdac4129fd21f03f957",
    101: "2a89a383725ea6072e0c18ddcdb8985b",
}


def test_session_id_is_md5_of_underscore_and_number():
    assert {n: session_id(n) for n in KNOWN} == KNOWN


def test_session_id_fits_the_stick_table_key_length():
    assert len(session_id(99999)) == 32


def test_cookie_header_carries_the_demo_cookies_around_the_session():
    assert cookie_header(21) == f"c1=1; c2=2; JSESSIONID={KNOWN[21]}"
