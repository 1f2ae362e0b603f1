"""An Orca speech-server module that writes what Orca would say to a file (one JSON line per utterance).

Loaded inside Orca (Debian's /usr/bin/python3), never by pytest: the
orca-customizations.py that `desktop.py` writes into Orca's own settings
folder puts this folder on sys.path and names this module as the speech
server factory (DESIGN.md §5). The file named by ALTLENS_SPEECH_FILE gets one
line per utterance, flushed at once, so a test reads speech as it happens.
"""
import json
import os
import time

from gi.repository import GLib
from orca import speechserver

_PATH = os.environ.get("ALTLENS_SPEECH_FILE", "/tmp/altlens-speech.jsonl")
_OUT = open(_PATH, "a", buffering=1, encoding="utf-8")


def _write(kind, text):
    if text is None:
        return
    text = str(text)
    if not text.strip():
        return
    _OUT.write(json.dumps({"t": time.time(), "kind": kind, "text": text}) + "\n")
    _OUT.flush()


class SpeechServer(speechserver.SpeechServer):
    _active = None

    @staticmethod
    def getFactoryName():
        return "altlens capture"

    @staticmethod
    def getSpeechServers():
        return [SpeechServer.getSpeechServer()]

    @staticmethod
    def getSpeechServer(info=None):
        if SpeechServer._active is None:
            SpeechServer._active = SpeechServer()
        return SpeechServer._active

    @staticmethod
    def shutdownActiveServers():
        SpeechServer._active = None

    def getInfo(self):
        return ["altlens capture", "altlens-capture"]

    def getVoiceFamilies(self):
        return [speechserver.VoiceFamily({speechserver.VoiceFamily.NAME: "capture",
                                          speechserver.VoiceFamily.LANG: "en",
                                          speechserver.VoiceFamily.DIALECT: "",
                                          speechserver.VoiceFamily.VARIANT: None})]

    def speak(self, text=None, acss=None, interrupt=True):
        _write("speak", text)

    def speakCharacter(self, character, acss=None):
        _write("char", character)

    def speakKeyEvent(self, event, acss=None):
        try:
            _write("key", event.getKeyName())
        except Exception:  # key echo is not what the tests listen to
            pass

    def sayAll(self, utteranceIterator, progressCallback):
        # One chunk per main-loop turn, each reported finished at once (as speechdispatcherfactory does).
        GLib.idle_add(self._say_all, utteranceIterator, progressCallback)

    def _say_all(self, iterator, callback):
        try:
            context, acss = next(iterator)
        except StopIteration:
            return False
        _write("sayall", context.utterance)
        context.currentOffset = context.startOffset
        callback(context.copy(), speechserver.SayAllContext.PROGRESS)
        context.currentOffset = context.endOffset
        callback(context.copy(), speechserver.SayAllContext.COMPLETED)
        GLib.idle_add(self._say_all, iterator, callback)
        return False

    def stop(self):
        pass

    def shutdown(self):
        pass

    def reset(self, text=None, acss=None):
        pass
