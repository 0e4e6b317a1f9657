async def test_start_without_token_explains_how_to_join(h):
    u = h.user(5, language_code="ru")
    replies = await u.send("/start")
    assert "ссылке-приглашению" in replies[-1].text
