"""Conversation states, all in one place."""

from aiogram.fsm.state import State, StatesGroup


class Onboarding(StatesGroup):
    consent = State()
    name = State()
    group = State()
    adult = State()
    position = State()


class Questionnaire(StatesGroup):
    answering = State()


class Dissolve(StatesGroup):
    reason = State()


class MeetingNew(StatesGroup):
    when = State()
    place = State()


class MeetingCancel(StatesGroup):
    reason = State()


class Goals(StatesGroup):
    adding = State()


class ProgrammeFlow(StatesGroup):
    title = State()  # a new programme: its template is chosen, the curator may send another title
    keep = State()  # closing a year: choosing which mentors stay


class ForgetSearch(StatesGroup):
    query = State()  # the curator's /forget_participant: whom to find


class District(StatesGroup):
    title = State()  # the coordinator's new institution: its name
    announce = State()  # the coordinator's announcement to the curators: its text
    rename = State()  # an institution's new name (the institution's id in the data)
