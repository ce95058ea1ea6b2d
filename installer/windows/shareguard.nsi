; ShareGuard Windows installer (NSIS 3, Unicode). Per-machine: Program Files, HKLM.
;
; Build (after PyInstaller made dist\shareguard\ from shareguard.spec):
;   makensis -DVERSION=0.1.0 installer\windows\shareguard.nsi
; CI compiles it on Linux against a stand-in payload:
;   makensis -DPAYLOAD=placeholder-payload -DOUTFILE=/tmp/ShareGuard-setup.exe installer/windows/shareguard.nsi
;
; Silent install / uninstall (GPO startup script, Intune Win32 app, SCCM):
;   ShareGuard-0.1.0-setup.exe /S [/D=C:\Program Files\ShareGuard]
;   "C:\Program Files\ShareGuard\uninstall.exe" /S
; Starts at logon for every user (HKLM Run value, windowed shareguardw.exe).
; Policy: Group Policy templates are copied to $INSTDIR\policy-templates; machine policy
; lives in HKLM\SOFTWARE\Policies\ShareGuard or %ProgramData%\ShareGuard\policy.yaml.

Unicode true
ManifestDPIAware true

!ifndef VERSION
  !define VERSION "0.1.0"
!endif
!ifndef PAYLOAD
  ; PyInstaller onedir output (relative to this script)
  !define PAYLOAD "..\..\dist\shareguard"
!endif
!ifndef OUTFILE
  !define OUTFILE "..\..\dist\ShareGuard-${VERSION}-setup.exe"
!endif

!define APP "ShareGuard"
!define PUBLISHER "ShareGuard developers"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\ShareGuard"
!define RUN_KEY "Software\Microsoft\Windows\CurrentVersion\Run"

!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "x64.nsh"
!include "FileFunc.nsh"

Name "${APP} ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\${APP}"
; An earlier install location wins on upgrade.
InstallDirRegKey HKLM "${UNINST_KEY}" "InstallLocation"
RequestExecutionLevel admin
SetCompressor /SOLID lzma
ShowInstDetails show
ShowUnInstDetails show

VIProductVersion "${VERSION}.0"
VIAddVersionKey /LANG=1033 "ProductName" "${APP}"
VIAddVersionKey /LANG=1033 "CompanyName" "${PUBLISHER}"
VIAddVersionKey /LANG=1033 "FileDescription" "${APP} installer"
VIAddVersionKey /LANG=1033 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=1033 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=1033 "LegalCopyright" "Apache-2.0"

!define MUI_ABORTWARNING
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"
!insertmacro MUI_LANGUAGE "SimpChinese"

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP|MB_OK "${APP} needs 64-bit Windows." /SD IDOK
    Abort
  ${EndIf}
  SetRegView 64
  SetShellVarContext all
FunctionEnd

Function un.onInit
  SetRegView 64
  SetShellVarContext all
FunctionEnd

; Running guards (one per signed-in user) hold their files open: end them first.
!macro StopGuards
  nsExec::ExecToLog '"$SYSDIR\taskkill.exe" /F /T /IM shareguardw.exe'
  Pop $0
  nsExec::ExecToLog '"$SYSDIR\taskkill.exe" /F /T /IM shareguard.exe'
  Pop $0
!macroend

Section "ShareGuard" SecMain
  SectionIn RO
  !insertmacro StopGuards
  SetOutPath "$INSTDIR"
  File /r "${PAYLOAD}\*.*"

  SetOutPath "$INSTDIR\policy-templates"
  File "admx\ShareGuard.admx"
  SetOutPath "$INSTDIR\policy-templates\en-US"
  File "admx\en-US\ShareGuard.adml"
  SetOutPath "$INSTDIR\policy-templates\zh-CN"
  File "admx\zh-CN\ShareGuard.adml"
  SetOutPath "$INSTDIR"
  File "/oname=policy.example.yaml" "..\linux\policy.yaml"

  ; Machine policy directory ($APPDATA is ProgramData under SetShellVarContext all): only SYSTEM
  ; and Administrators may write it (ProgramData's default ACL would let any user create a
  ; policy.yaml here, which the agent then refuses as insecure).
  CreateDirectory "$APPDATA\${APP}"
  nsExec::ExecToLog '"$SYSDIR\icacls.exe" "$APPDATA\${APP}" /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F *S-1-5-32-545:(OI)(CI)RX'
  Pop $0

  ; Start at logon for every user.
  WriteRegStr HKLM "${RUN_KEY}" "${APP}" '"$INSTDIR\shareguardw.exe" run'

  ; The browser companion's native-messaging host, machine-wide: manifests in
  ; %ProgramData%\ShareGuard\browser and HKLM\Software\{Google\Chrome,Chromium,Microsoft\Edge,Mozilla}\
  ; NativeMessagingHosts\org.shareguard.companion (docs/it-deployment.md, "Browser companion").
  nsExec::ExecToLog '"$INSTDIR\shareguard.exe" browser install --system'
  Pop $0

  WriteUninstaller "$INSTDIR\uninstall.exe"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayName" "${APP}"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINST_KEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr HKLM "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\shareguardw.exe"
  WriteRegStr HKLM "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  IntFmt $0 "0x%08X" $0
  WriteRegDWORD HKLM "${UNINST_KEY}" "EstimatedSize" "$0"
SectionEnd

Section "Uninstall"
  !insertmacro StopGuards
  nsExec::ExecToLog '"$INSTDIR\shareguard.exe" browser uninstall --system'
  Pop $0
  DeleteRegValue HKLM "${RUN_KEY}" "${APP}"
  DeleteRegKey HKLM "${UNINST_KEY}"
  ; Remove only what we installed: $INSTDIR may have been pointed anywhere with /D=.
  RMDir /r "$INSTDIR\_internal"
  RMDir /r "$INSTDIR\policy-templates"
  Delete "$INSTDIR\shareguard.exe"
  Delete "$INSTDIR\shareguardw.exe"
  Delete "$INSTDIR\policy.example.yaml"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  ; Machine policy (%ProgramData%\ShareGuard) and Group Policy values belong to IT: kept.
SectionEnd
