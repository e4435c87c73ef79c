from config.errors import Conflict, InvalidInput


class InvalidInviteCode(InvalidInput):
    code = "invalid_invite_code"
    message = "That invite code is not valid."

    def __init__(self, message=None, **kwargs):
        super().__init__(message, fields={"invite_code": [message or self.message]}, **kwargs)


class OwnInviteCode(InvalidInviteCode):
    code = "own_invite_code"
    message = "You cannot use your own invite code."


class InviteCodeAlreadyUsed(Conflict):
    code = "invite_code_already_used"
    message = "You have already used this invite code."


class InviteCodeExhausted(Conflict):
    code = "invite_code_exhausted"
    message = "This invite code has no uses left."


class InvalidReferralCode(InvalidInput):
    code = "invalid_referral_code"
    message = "That introduction link is not valid."

    def __init__(self, message=None, **kwargs):
        super().__init__(message, fields={"referral_code": [message or self.message]}, **kwargs)
